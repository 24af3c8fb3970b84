// Modules: PyTorch naming, state loading, modes, hooks, dtype conversion and gradients.
#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine/nn/nn.h"

namespace qatd {
namespace {

// A small nested model: Sequential(Linear, GELU, Linear) beside an MLP and a LayerNorm.
class Toy : public nn::UnaryModule {
 public:
  explicit Toy(Generator* generator) {
    body = register_module("body", std::make_shared<nn::Sequential>());
    body->append(std::make_shared<nn::Linear>(4, 8, true, generator));
    body->append(std::make_shared<nn::ActivationLayer>(nn::Activation::gelu));
    body->append(std::make_shared<nn::Linear>(8, 4, true, generator));
    head = register_module("head", std::make_shared<nn::MLP>(4, 6, 2, 3, nn::Activation::relu, true, generator));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{4}));
    scale = ones({1});
    register_buffer("scale", scale);
  }
  Tensor forward(const Tensor& x) override { return (*head)((*norm)((*body)(x)) * scale); }
  std::string type_name() const override { return "Toy"; }

  std::shared_ptr<nn::Sequential> body;
  std::shared_ptr<nn::MLP> head;
  std::shared_ptr<nn::LayerNorm> norm;
  Tensor scale;
};

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : named) names.push_back(name);
  return names;
}

}  // namespace

TEST_CASE("parameter and state_dict names follow PyTorch's dotted naming", "[nn]") {
  Generator g(1);
  Toy toy(&g);
  CHECK(names_of(toy.named_parameters()) ==
        std::vector<std::string>{"body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
                                 "head.layers.0.weight", "head.layers.0.bias", "head.layers.1.weight",
                                 "head.layers.1.bias", "head.layers.2.weight", "head.layers.2.bias", "norm.weight",
                                 "norm.bias"});
  auto state = toy.state_dict();
  CHECK(state.front().first == "scale");  // a module's own entries precede its children's, as in PyTorch
  CHECK(state.size() == 13);
  CHECK(names_of(toy.named_parameters(false)).empty());
  CHECK(&toy.submodule("head.layers.1") == &toy.head->layers->at<nn::Linear>(1));
  REQUIRE_THROWS_WITH(toy.submodule("head.layers.7"), Catch::Contains("no submodule 'head.layers.7'"));
}

TEST_CASE("load_state_dict copies values and names every missing, unexpected and mismatched key", "[nn]") {
  Generator g1(1), g2(2);
  Toy source(&g1), target(&g2);
  target.load_state_dict(source.state_dict());
  CHECK(target.head->layers->at<nn::Linear>(2).weight.to_vector<float>() ==
        source.head->layers->at<nn::Linear>(2).weight.to_vector<float>());

  auto state = source.state_dict();
  auto entry = [&](const std::string& name) {
    return std::find_if(state.begin(), state.end(), [&](const auto& item) { return item.first == name; });
  };
  state.erase(entry("body.0.weight"));            // missing
  state.emplace_back("extra.weight", ones({1}));  // unexpected
  entry("body.0.bias")->second = ones({3});       // wrong shape
  try {
    target.load_state_dict(state);
    FAIL("strict loading accepted a bad state");
  } catch (const Error& error) {
    std::string message = error.what();
    CHECK_THAT(message, Catch::Contains("body.0.weight") && Catch::Contains("extra.weight") &&
                            Catch::Contains("body.0.bias: state [3] vs module [8]"));
  }
  nn::LoadResult result = target.load_state_dict(state, /*strict=*/false);
  CHECK(result.missing == std::vector<std::string>{"body.0.weight"});
  CHECK(result.unexpected == std::vector<std::string>{"extra.weight"});
  CHECK(result.mismatched.size() == 1);
}

TEST_CASE("train and eval reach every submodule; dropout follows them", "[nn]") {
  Generator g(3);
  nn::Sequential model;
  model.append(std::make_shared<nn::Dropout>(0.5, &g));
  model.eval();
  CHECK_FALSE(model[0].is_training());
  Tensor x = ones({100});
  CHECK(model(x).to_vector<float>() == x.to_vector<float>());
  model.train();
  CHECK(model[0].is_training());
  CHECK(model(x).to_vector<float>() != x.to_vector<float>());
}

TEST_CASE("forward hooks capture and may replace outputs", "[nn]") {
  Generator g(4);
  Toy toy(&g);
  Tensor captured;
  int handle = toy.norm->register_forward_hook([&](nn::Module&, const Tensor& out) {
    captured = out;
    return Tensor();
  });
  Tensor x = randn({2, 4}, DType::f32, &g);
  toy(x);
  REQUIRE(captured.defined());
  CHECK(captured.shape() == Shape{2, 4});
  toy.norm->remove_forward_hook(handle);
  captured = Tensor();
  toy(x);
  CHECK_FALSE(captured.defined());
  toy.register_forward_hook([](nn::Module&, const Tensor& out) { return zeros_like(out); });
  CHECK(sum(toy(x)).item() == 0.0);
}

TEST_CASE("a shared module's parameters collect gradients from every use", "[nn]") {
  Generator g(5);
  auto shared = std::make_shared<nn::Linear>(3, 3, false, &g);
  Tensor x = randn({2, 3}, DType::f32, &g);
  sum((*shared)((*shared)(x))).backward();
  Tensor once_grad = shared->weight.grad().clone();
  shared->zero_grad();
  CHECK_FALSE(shared->weight.grad().defined());
  // By hand: y = x W^T W^T, dL/dW = (1 W)^T x ... checked through finite differences below.
  Tensor w = shared->weight.detach().to(DType::f64);
  auto loss = [&](const Tensor& weight) { return sum(linear(linear(x.to(DType::f64), weight), weight)).item(); };
  std::vector<double> numeric;
  std::vector<double> values = w.to_vector<double>();
  for (size_t i = 0; i < values.size(); ++i) {
    std::vector<double> plus = values, minus = values;
    plus[i] += 1e-6;
    minus[i] -= 1e-6;
    numeric.push_back((loss(from_vector(plus, {3, 3})) - loss(from_vector(minus, {3, 3}))) / 2e-6);
  }
  std::vector<float> analytic = once_grad.to_vector<float>();
  for (size_t i = 0; i < numeric.size(); ++i) CHECK(analytic[i] == Approx(numeric[i]).epsilon(1e-3).margin(1e-4));
}

TEST_CASE("module gradients in float64 equal finite differences", "[nn][gradcheck]") {
  Generator g(6);
  Toy toy(&g);
  toy.to(DType::f64);
  Tensor x = randn({3, 4}, DType::f64, &g);
  Tensor upstream = randn({3, 2}, DType::f64, &g);
  sum(mul(toy(x), upstream)).backward();
  double worst = 0.0;
  for (auto& [name, parameter] : toy.named_parameters()) {
    std::vector<double> grad = parameter.grad().to_vector<double>();
    for (int64_t i = 0; i < parameter.numel(); ++i) {
      double* value = parameter.data<double>() + i;
      double saved = *value;
      NoGradGuard no_grad;
      *value = saved + 1e-6;
      double plus = sum(mul(toy(x), upstream)).item();
      *value = saved - 1e-6;
      double minus = sum(mul(toy(x), upstream)).item();
      *value = saved;
      worst = std::max(worst, std::abs((plus - minus) / 2e-6 - grad[i]));
    }
  }
  std::printf("Toy module float64 gradient vs finite differences: max |err| = %.3e (tolerance 1e-6)\n", worst);
  CHECK(worst < 1e-6);
}

TEST_CASE("parameter transforms change what forward reads, and gradients reach the parameter", "[nn]") {
  Generator g(8);
  nn::Linear layer(3, 2, false, &g);
  Tensor x = randn({4, 3}, DType::f32, &g);
  Tensor plain = layer(x);
  layer.set_parameter_transform("weight", [](const Tensor& w) { return mul(w, 2.0); });
  CHECK(layer.has_parameter_transform("weight"));
  Tensor doubled = layer(x);
  CHECK(doubled.to_vector<float>() == mul(plain, 2.0).to_vector<float>());
  sum(doubled).backward();
  // d/dW of sum(x (2W)^T) = 2 * column sums of x, for every output row.
  std::vector<float> grad = layer.weight.grad().to_vector<float>();
  std::vector<float> expected = mul(sum(x, {0}), 2.0).to_vector<float>();
  for (int row = 0; row < 2; ++row) {
    for (int col = 0; col < 3; ++col) CHECK(grad[row * 3 + col] == Approx(expected[col]));
  }
  layer.set_parameter_transform("weight", nullptr);
  CHECK(layer(x).to_vector<float>() == plain.to_vector<float>());
  REQUIRE_THROWS_WITH(layer.set_parameter_transform("bias", nullptr), Catch::Contains("no parameter 'bias'"));
}

TEST_CASE("layers validate their configuration", "[nn]") {
  REQUIRE_THROWS_WITH(nn::Linear(0, 3), Catch::Contains("Linear"));
  REQUIRE_THROWS_WITH(nn::Conv2d(3, 4, {3, 3}, Conv2dOptions{.groups = 2}), Catch::Contains("divide by groups 2"));
  REQUIRE_THROWS_WITH(nn::MLP(2, 2, 2, 0), Catch::Contains("num_layers"));
  REQUIRE_THROWS_WITH(nn::parse_activation("swish"), Catch::Contains("unknown activation 'swish'"));
  REQUIRE_THROWS_WITH(nn::Embedding(4, 2, 9), Catch::Contains("padding_idx 9"));
}

TEST_CASE("default initialization follows PyTorch's bounds", "[nn]") {
  Generator g(7);
  nn::Linear layer(100, 50, true, &g);
  CHECK(amax(abs(layer.weight)).item() <= 0.1);
  CHECK(amax(abs(layer.weight)).item() > 0.09);
  CHECK(amax(abs(layer.bias)).item() <= 0.1);
  nn::Conv2d conv(4, 8, {3, 3}, {}, true, &g);
  CHECK(amax(abs(conv.weight)).item() <= 1.0 / 6.0);
  nn::LayerNorm norm(Shape{5});
  CHECK(sum(norm.weight).item() == 5.0);
  CHECK(sum(norm.bias).item() == 0.0);
}

}  // namespace qatd
