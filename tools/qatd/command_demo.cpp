// qatd demo: the built-in default job until the SAM 2 distillation demo lands. It trains a
// small MLP on two interleaved spirals (a problem a linear model cannot solve) with AdamW, a
// cosine schedule and gradient clipping, prints the loss falling, evaluates on held-out points
// and can save the result as a checkpoint.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>

#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/lr_scheduler.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace qatd::cli {

namespace {

struct Points {
  Tensor coordinates;  // (n, 2)
  Tensor labels;       // (n, 1), 0 or 1
};

// Two spirals, one per class, with Gaussian jitter.
Points make_spirals(int64_t count, Generator& generator) {
  std::vector<float> coordinates, labels;
  for (int64_t i = 0; i < count; ++i) {
    int label = static_cast<int>(i % 2);
    double t = generator.uniform();
    double angle = 3.0 * std::numbers::pi * t + label * std::numbers::pi;
    double radius = 0.15 + 0.85 * t;
    coordinates.push_back(static_cast<float>(radius * std::cos(angle) + 0.04 * generator.normal()));
    coordinates.push_back(static_cast<float>(radius * std::sin(angle) + 0.04 * generator.normal()));
    labels.push_back(static_cast<float>(label));
  }
  return {from_vector(coordinates, {count, 2}), from_vector(labels, {count, 1})};
}

double accuracy(nn::UnaryModule& model, const Points& points) {
  NoGradGuard no_grad;
  Tensor predicted = gt(model(points.coordinates), 0.0).to(DType::f32);
  return mean(eq(predicted, points.labels).to(DType::f32)).item();
}

}  // namespace

int run_demo(const std::vector<std::string>& words) {
  Arguments arguments("demo", words,
                      {{"steps", "N", "training steps (default 600)"},
                       {"batch", "N", "points per step (default 256)"},
                       {"lr", "X", "peak learning rate (default 0.01)"},
                       {"seed", "N", "random seed (default 0)"},
                       {"threads", "N", "CPU threads (default: all)"},
                       {"out", "FILE", "save the trained model as a checkpoint (.safetensors)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("usage: qatd demo [options]\n\nTrains a 2-64-64-1 MLP to separate two spirals.\n\n%s",
                arguments.usage().c_str());
    return 0;
  }
  const int64_t steps = arguments.integer("steps", 600);
  const int64_t batch = arguments.integer("batch", 256);
  const double peak_lr = arguments.number("lr", 0.01);
  QATD_CHECK(steps >= 1 && batch >= 1, "qatd demo: --steps and --batch must be positive");
  if (arguments.has("threads")) set_num_threads(static_cast<int>(arguments.integer("threads", 1)));
  Generator generator(static_cast<uint64_t>(arguments.integer("seed", 0)));

  Points train = make_spirals(4096, generator);
  Points validation = make_spirals(1024, generator);
  nn::Sequential model;
  model.append(std::make_shared<nn::Linear>(2, 64, true, &generator));
  model.append(std::make_shared<nn::ActivationLayer>(nn::Activation::gelu));
  model.append(std::make_shared<nn::Linear>(64, 64, true, &generator));
  model.append(std::make_shared<nn::ActivationLayer>(nn::Activation::gelu));
  model.append(std::make_shared<nn::Linear>(64, 1, true, &generator));

  optim::AdamW optimizer(model.parameters(), {.lr = peak_lr, .weight_decay = 1e-4});
  optim::CosineWarmupLR schedule(optimizer, {.warmup_steps = steps / 20, .total_steps = steps, .min_lr = peak_lr / 50});

  std::printf("qatd demo: MLP 2-64-64-1 on two spirals, %lld steps of %lld points, AdamW, %d threads\n",
              static_cast<long long>(steps), static_cast<long long>(batch), num_threads());
  auto start = std::chrono::steady_clock::now();
  double running_loss = 0.0;
  for (int64_t step = 1; step <= steps; ++step) {
    Tensor rows = randint(0, train.coordinates.shape()[0], {batch}, DType::i64, &generator);
    Tensor logits = model(index_select(train.coordinates, 0, rows));
    Tensor loss = binary_cross_entropy_with_logits(logits, index_select(train.labels, 0, rows));
    optimizer.zero_grad();
    loss.backward();
    optim::clip_grad_norm_(model.parameters(), 1.0);
    optimizer.step();
    schedule.step();
    running_loss += loss.item();
    int64_t every = std::max<int64_t>(1, steps / 12);
    if (step % every == 0 || step == steps) {
      std::printf("step %5lld/%lld  loss %.4f  lr %.5f\n", static_cast<long long>(step),
                  static_cast<long long>(steps), running_loss / static_cast<double>(step % every ? step % every : every),
                  optimizer.lr(0));
      running_loss = 0.0;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained in %.2f s (%.0f steps/s)\n", seconds, static_cast<double>(steps) / seconds);
  std::printf("accuracy: train %.3f, held-out %.3f\n", accuracy(model, train), accuracy(model, validation));
  if (arguments.has("out")) {
    std::string path = arguments.text("out", "");
    io::save_checkpoint(path, model.state_dict(), {{"model", "mlp 2-64-64-1"}, {"steps", steps}});
    std::printf("saved %s\n", path.c_str());
  }
  return 0;
}

}  // namespace qatd::cli
