// `qatd convert` on the SAM 2 micro model: the official-name safetensors it writes load back into the
// same model, --dtype f16 stores every floating tensor at half precision (and qatd reads it back into
// float32 within f16's rounding), and a bad --dtype is named.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/engine.h"
#include "engine/io/safetensors.h"
#include "models/sam2/build_sam.h"
#include "tests/quant/qatd_cli.h"
#include "tests/test_support.h"

namespace qatd::cli {

TEST_CASE("qatd convert: official names, --dtype f16 halves the floats, a bad dtype is named", "[cli]") {
  const std::string binary = testing::qatd_binary();
  const std::string config = testing::fixture_path("sam2_micro_a/meta.json");
  const std::string checkpoint = testing::fixture_path("sam2_micro_a/model.safetensors");
  const std::string same = testing::temporary_path("convert_same.safetensors");
  const std::string half = testing::temporary_path("convert_f16.safetensors");

  testing::CommandResult copied = testing::run_qatd(binary, {"convert", checkpoint, same});
  INFO(copied.output);
  REQUIRE(copied.status == 0);
  testing::CommandResult halved = testing::run_qatd(binary, {"convert", checkpoint, half, "--dtype", "f16"});
  INFO(halved.output);
  REQUIRE(halved.status == 0);

  std::map<std::string, Tensor> original, stored;
  for (auto& [name, tensor] : io::load_safetensors(same)) original[name] = tensor;
  for (auto& [name, tensor] : io::load_safetensors(half)) stored[name] = tensor;
  REQUIRE(stored.size() == original.size());
  double worst = 0.0;
  for (const auto& [name, tensor] : original) {
    REQUIRE(stored.count(name));
    const Tensor& converted = stored.at(name);
    if (!is_floating(tensor.dtype())) {
      CHECK(converted.dtype() == tensor.dtype());
      continue;
    }
    CHECK(converted.dtype() == DType::f16);
    std::vector<float> a = tensor.to(DType::f32).to_vector<float>(), b = converted.to(DType::f32).to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) / std::max(1e-4, std::abs(double(a[i]))));
    }
  }
  // f16 keeps 11 significant bits: a relative rounding error of at most 2^-11 for normal values.
  std::printf("convert --dtype f16: worst relative change %.3e (tolerance 4.9e-4)\n", worst);
  CHECK(worst <= 4.9e-4);

  // The model loads both files; the f16 one into float32 weights.
  std::unique_ptr<sam2::SAM2Base> model = sam2::build_sam2(config, half);
  for (const auto& [name, parameter] : model->named_parameters()) CHECK(parameter.dtype() == DType::f32);
  sam2::build_sam2(config, same);

  testing::CommandResult bad = testing::run_qatd(binary, {"convert", checkpoint, half, "--dtype", "f8"});
  CHECK(bad.status != 0);
  CHECK_THAT(bad.output, Catch::Contains("--dtype must be f32, f16 or bf16, got 'f8'"));
}

}  // namespace qatd::cli
