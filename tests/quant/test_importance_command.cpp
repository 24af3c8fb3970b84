// `qatd importance` on the SAM 2 micro model: each method writes a file that read_importance reads
// back with one entry per plan site, and bad options give clear errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/engine.h"
#include "models/sam2/build_sam.h"
#include "quant/importance.h"
#include "quant/quantization_plan.h"
#include "tests/quant/qatd_cli.h"
#include "tests/test_support.h"

namespace qatd::quant {
namespace {

constexpr const char* kWeightsPlan = R"([quant]
[[quant.rules]]
pattern = "sam_mask_decoder.transformer.layers.*.mlp.layers.*"
weights = true
granularity = "per_channel"
bits_init = 6
[[quant.rules]]
pattern = "sam_mask_decoder.output_upscaling.*"
types = ["ConvTranspose2d"]
weights = true
bits_init = 4
)";

// kWeightsPlan plus an output site.
constexpr const char* kOutputsPlan = R"([quant]
[[quant.rules]]
pattern = "sam_mask_decoder.transformer.layers.*.mlp.layers.*"
weights = true
bits_init = 6
[[quant.rules]]
pattern = "sam_mask_decoder.transformer.layers.0.mlp"
outputs = true
symmetric = false
bits_init = 8
)";

std::vector<std::string> plan_sites(const std::string& plan_file) {
  std::unique_ptr<sam2::SAM2Base> model = sam2::build_sam2(testing::fixture_path("sam2_micro_a/meta.json"), "");
  return apply_plan(*model, QuantizationPlan::from_toml_file(plan_file)).site_names();
}

}  // namespace

TEST_CASE("qatd importance writes one entry per plan site that read_importance reads back", "[quant][cli]") {
  const std::string binary = testing::qatd_binary();
  const std::string weights_plan = testing::temporary_path("importance_weights.toml");
  const std::string outputs_plan = testing::temporary_path("importance_outputs.toml");
  testing::write_file_text(weights_plan, kWeightsPlan);
  testing::write_file_text(outputs_plan, kOutputsPlan);
  const std::string images = testing::temporary_path("importance_images");
  std::filesystem::create_directories(images);
  std::filesystem::copy_file(testing::fixture_path("sam2_micro_a/image.png"), images + "/a.png",
                             std::filesystem::copy_options::overwrite_existing);
  const std::vector<std::string> base = {"importance", "--model-config", testing::fixture_path("sam2_micro_a/meta.json"),
                                         "--checkpoint", testing::fixture_path("sam2_micro_a/model.safetensors")};

  struct Case {
    std::string plan;
    std::vector<std::string> options;
    std::string out;
  };
  const std::vector<Case> cases = {
      {weights_plan, {"--method", "uniform"}, "importance_uniform.json"},
      {outputs_plan, {"--method", "fisher", "--samples", "2"}, "importance_fisher.csv"},
      {weights_plan, {"--method", "fisher", "--samples", "2", "--times-quantization-error", "--normalize", "mean"},
       "importance_fisher_error.json"},
      {weights_plan, {"--method", "hutchinson", "--samples", "2", "--images", images}, "importance_hutchinson.csv"},
  };
  for (const Case& item : cases) {
    std::vector<std::string> words = base;
    words.insert(words.end(), {"--config", item.plan});
    words.insert(words.end(), item.options.begin(), item.options.end());
    const std::string out = testing::temporary_path(item.out);
    std::filesystem::remove(out);
    // One thread: the test runs beside others (ctest -j), and OpenMP threads on busy cores wait long.
    words.insert(words.end(), {"--out", out, "--threads", "1"});
    testing::CommandResult result = testing::run_qatd(binary, words);
    INFO(result.output);
    REQUIRE(result.status == 0);
    const std::vector<std::string> sites = plan_sites(item.plan);
    const Importance importance = read_importance(out);
    std::vector<std::string> sorted_read = importance.sites, sorted_plan = sites;
    std::sort(sorted_read.begin(), sorted_read.end());
    std::sort(sorted_plan.begin(), sorted_plan.end());
    CHECK(sorted_read == sorted_plan);  // every site once
    if (item.out.ends_with(".csv")) CHECK(importance.sites == sites);  // in the plan's order (JSON reads back sorted)
    // validate_importance also checks that every value is positive, as the bit penalty needs; a
    // Hutchinson trace estimate may be negative on a site with little curvature.
    if (item.options[1] != "hutchinson") CHECK(validate_importance(importance, sites, out).sites == sites);
    double sum = 0.0;
    for (double value : importance.values) {
      CHECK(std::isfinite(value));
      sum += value;
    }
    std::printf("qatd importance %-30s %zu sites, mean %.6g\n", item.out.c_str(), importance.sites.size(),
                sum / static_cast<double>(importance.values.size()));
    if (item.options[1] == "uniform") {
      for (double value : importance.values) CHECK(value == 1.0);
    }
    if (item.out == "importance_fisher_error.json") CHECK(sum / static_cast<double>(sites.size()) == Approx(1.0));
  }
}

TEST_CASE("qatd importance rejects bad options with clear errors", "[quant][cli]") {
  const std::string binary = testing::qatd_binary();
  const std::string plan = testing::temporary_path("importance_bad_plan.toml");
  testing::write_file_text(plan, kOutputsPlan);
  const std::string memory_plan = testing::temporary_path("importance_memory_plan.toml");
  testing::write_file_text(memory_plan,
                           "[quant]\n[[quant.rules]]\npattern = \"memory_attention.layers.*.linear1\"\nweights = true\n");
  const std::string out = testing::temporary_path("importance_bad.csv");
  testing::write_file_text(out, "site,importance\nkept,1\n");
  const std::vector<std::string> base = {"importance", "--model-config", testing::fixture_path("sam2_micro_a/meta.json"),
                                         "--checkpoint", testing::fixture_path("sam2_micro_a/model.safetensors"), "--out", out};
  struct Bad {
    std::vector<std::string> options;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"--config", plan}, "--method is required"},
      {{"--config", plan, "--method", "hessian"}, "--method must be uniform, fisher or hutchinson"},
      {{"--method", "fisher"}, "--config FILE.toml (the [quant] plan) is required"},
      {{"--config", plan, "--method", "hutchinson", "--samples", "1"}, "output sites have no weight to perturb"},
      {{"--config", plan, "--method", "fisher", "--normalize", "median"}, "unknown importance normalization"},
      {{"--config", plan, "--method", "fisher", "--images", testing::temporary_path("no_images_here")},
       "is not a directory"},
      {{"--config", memory_plan, "--method", "fisher", "--samples", "1"},
       "never runs these plan sites, so their gradient-based importance is undefined: "
       "memory_attention.layers.0.linear1.weight"},
  };
  for (const Bad& item : bad) {
    std::vector<std::string> words = base;
    words.insert(words.end(), item.options.begin(), item.options.end());
    testing::CommandResult result = testing::run_qatd(binary, words);
    INFO(result.output);
    CHECK(result.status == 1);
    CHECK_THAT(result.output, Catch::Contains(item.message));
    CHECK(testing::read_file_text(out) == "site,importance\nkept,1\n");
  }
}

}  // namespace qatd::quant
