// The data pipeline: split, samples with their prompts, the batch loader's determinism (across worker
// counts and resumes) and how it replaces samples whose files fail to load.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "engine/engine.h"
#include "train/data/batch_loader.h"
#include "train/data/procedural_shapes.h"
#include "train/data/segmentation_dataset.h"

namespace qatd::train::data {
namespace {

DataSettings small_settings() {
  DataSettings settings;
  settings.count = 10;
  settings.validation_count = 3;
  settings.image_size = 64;
  settings.seed = 4;
  settings.scale_jitter = 0.5;
  settings.mask_probability = 0.5;
  return settings;
}

std::shared_ptr<const ImageSource> shapes(const DataSettings& settings) {
  return std::make_shared<ProceduralShapes>(settings.count + settings.validation_count, settings.image_size,
                                            static_cast<uint64_t>(settings.seed));
}

// Procedural images whose items in `broken` fail to load, as a corrupt file would.
class BrokenSource : public ImageSource {
 public:
  BrokenSource(std::shared_ptr<const ImageSource> inner, std::set<int64_t> broken)
      : inner_(std::move(inner)), broken_(std::move(broken)) {}
  int64_t size() const override { return inner_->size(); }
  std::string name(int64_t index) const override { return inner_->name(index); }
  AnnotatedImage load(int64_t index) const override {
    QATD_CHECK(!broken_.count(index), "item{}.jpg: truncated JPEG", index);
    return inner_->load(index);
  }

 private:
  std::shared_ptr<const ImageSource> inner_;
  std::set<int64_t> broken_;
};

bool same(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  return a.shape() == b.shape() && a.to(DType::f32).to_vector<float>() == b.to(DType::f32).to_vector<float>();
}

bool same_batch(const Batch& a, const Batch& b) {
  return a.indices == b.indices && a.object_images == b.object_images && a.prompts == b.prompts &&
         same(a.images, b.images) && same(a.masks, b.masks) &&
         same(a.point_coords, b.point_coords) && same(a.point_labels, b.point_labels) &&
         same(a.mask_inputs, b.mask_inputs);
}

}  // namespace

TEST_CASE("dataset: the synthetic split holds count training and validation_count extra images", "[data]") {
  DataSettings settings = small_settings();
  SegmentationDataset train(shapes(settings), settings, Split::train, 16);
  SegmentationDataset validation(shapes(settings), settings, Split::validation, 16);
  CHECK(train.size() == 10);
  CHECK(validation.size() == 3);
  CHECK(train.item_name(0) == "procedural #0");
  CHECK(validation.item_name(0) == "procedural #10");
}

TEST_CASE("dataset: a file source's split is a seeded partition", "[data]") {
  DataSettings settings = small_settings();
  settings.source = DataSource::folder;  // any source but synthetic splits the items it has
  auto source = std::make_shared<ProceduralShapes>(13, 64, 1);
  SegmentationDataset train(source, settings, Split::train, 16), validation(source, settings, Split::validation, 16);
  std::set<std::string> names;
  for (int64_t i = 0; i < train.size(); ++i) names.insert(train.item_name(i));
  for (int64_t i = 0; i < validation.size(); ++i) names.insert(validation.item_name(i));
  CHECK(train.size() == 10);
  CHECK(validation.size() == 3);
  CHECK(names.size() == 13);
  settings.validation_count = 13;
  CHECK_THROWS_WITH(SegmentationDataset(source, settings, Split::train, 16),
                    Catch::Contains("data.validation_count = 13 leaves no training images"));
}

TEST_CASE("dataset: prompts lie on the object, boxes hold it, mask prompts have the prompt size", "[data]") {
  DataSettings settings = small_settings();
  settings.points_per_mask = 3;
  settings.box_noise = 0.0;
  SegmentationDataset dataset(shapes(settings), settings, Split::train, 16);
  for (int64_t index = 0; index < dataset.size(); ++index) {
    Sample clicks = dataset.sample(index, 0, {PromptKind::points, true});
    REQUIRE(clicks.image.shape() == Shape{3, 64, 64});
    REQUIRE(clicks.masks.shape() == Shape{1, 64, 64});
    REQUIRE(clicks.point_coords.shape() == Shape{1, 3, 2});
    REQUIRE(clicks.mask_prompt.shape() == Shape{1, 1, 16, 16});
    std::vector<float> mask = clicks.masks.to_vector<float>(), coords = clicks.point_coords.to_vector<float>();
    for (size_t k = 0; k < 3; ++k) {
      CHECK(mask[static_cast<size_t>(coords[2 * k + 1]) * 64 + static_cast<size_t>(coords[2 * k])] == 1.0f);
    }
    CHECK(clicks.point_labels.to_vector<int32_t>() == std::vector<int32_t>{1, 1, 1});

    Sample box = dataset.sample(index, 0, {PromptKind::box, false});
    CHECK(!box.mask_prompt.defined());
    CHECK(box.point_labels.to_vector<int32_t>() == std::vector<int32_t>{2, 3});
    std::vector<float> corners = box.point_coords.to_vector<float>(), object = box.masks.to_vector<float>();
    for (int64_t y = 0; y < 64; ++y) {
      for (int64_t x = 0; x < 64; ++x) {
        if (object[y * 64 + x] > 0.5f) {
          CHECK((x >= corners[0] && x <= corners[2] && y >= corners[1] && y <= corners[3]));
        }
      }
    }
  }
}

TEST_CASE("dataset: several objects of one view, each with its own prompt; the batch maps them to images",
          "[data]") {
  DataSettings settings = small_settings();
  settings.objects_per_image = 3;
  settings.box_noise = 0.0;
  DataSettings single = settings;
  single.objects_per_image = 1;
  SegmentationDataset dataset(shapes(settings), settings, Split::train, 16);
  SegmentationDataset one_object(shapes(single), single, Split::train, 16);
  int64_t several = 0;
  for (int64_t index = 0; index < dataset.size(); ++index) {
    Sample sample = dataset.sample(index, 1, {PromptKind::box, true});
    const int64_t count = sample.masks.size(0);
    REQUIRE(count >= 1);
    REQUIRE(count <= 3);
    several += count > 1;
    REQUIRE(static_cast<int64_t>(sample.objects.size()) == count);
    CHECK(std::set<int64_t>(sample.objects.begin(), sample.objects.end()).size() == sample.objects.size());
    REQUIRE(sample.point_coords.shape() == Shape{count, 2, 2});
    REQUIRE(sample.point_labels.shape() == Shape{count, 2});
    REQUIRE(sample.mask_prompt.shape() == Shape{count, 1, 16, 16});
    // The first object and the view are those of the one-object sample.
    Sample first = one_object.sample(index, 1, {PromptKind::box, true});
    CHECK(same(sample.image, first.image));
    CHECK(same(sample.masks.narrow(0, 0, 1), first.masks));
    CHECK(sample.objects.front() == first.objects.front());
    for (int64_t k = 0; k < count; ++k) {
      // Each box is its own object's bounding box: it holds the object and touches it on all four sides.
      std::vector<float> corners = sample.point_coords.select(0, k).contiguous().to_vector<float>();
      std::vector<float> object = sample.masks.select(0, k).contiguous().to_vector<float>();
      float x0 = 64, y0 = 64, x1 = -1, y1 = -1;
      for (int64_t y = 0; y < 64; ++y) {
        for (int64_t x = 0; x < 64; ++x) {
          if (object[y * 64 + x] < 0.5f) continue;
          x0 = std::min<float>(x0, x), x1 = std::max<float>(x1, x);
          y0 = std::min<float>(y0, y), y1 = std::max<float>(y1, y);
        }
      }
      INFO("sample " << index << " object " << k);
      CHECK(std::vector<float>{x0, y0, x1, y1} == corners);
    }
  }
  CHECK(several > dataset.size() / 2);  // procedural images have 3 to 6 objects

  BatchLoader loader(dataset, 4, 0);
  Batch batch = loader.next();
  const int64_t objects = batch.masks.size(0);
  REQUIRE(static_cast<int64_t>(batch.object_images.size()) == objects);
  CHECK(batch.point_coords.size(0) == objects);
  CHECK(batch.point_labels.size(0) == objects);
  CHECK(batch.images.size(0) == 4);
  CHECK(std::is_sorted(batch.object_images.begin(), batch.object_images.end()));
  CHECK(batch.object_images.front() == 0);
  CHECK(batch.object_images.back() == 3);
}

TEST_CASE("batch loader: the same batches with 0, 1 or 3 workers, and after a resume", "[data]") {
  DataSettings settings = small_settings();
  SegmentationDataset dataset(shapes(settings), settings, Split::train, 16);
  BatchLoader inline_loader(dataset, 4, 0), one(dataset, 4, 1, 1), three(dataset, 4, 3, 3);
  std::vector<Batch> expected;
  for (int step = 0; step < 5; ++step) {
    Batch batch = inline_loader.next();
    CHECK(same_batch(batch, one.next()));
    CHECK(same_batch(batch, three.next()));
    expected.push_back(batch);
  }
  // 5 batches of 4 over 10 images: two whole epochs.
  CHECK(inline_loader.position() == DataPosition{2, 0});
  std::set<int64_t> first_epoch(expected[0].indices.begin(), expected[0].indices.end());
  first_epoch.insert(expected[1].indices.begin(), expected[1].indices.end());
  first_epoch.insert(expected[2].indices[0]);
  first_epoch.insert(expected[2].indices[1]);
  CHECK(first_epoch.size() == 10);

  BatchLoader resumed(dataset, 4, 2, 2);
  resumed.set_position({1, 2});
  CHECK(same_batch(resumed.next(), expected[3]));
  CHECK(same_batch(resumed.next(), expected[4]));
  CHECK_THROWS_WITH(resumed.set_position({0, 10}), Catch::Contains("outside the dataset of 10 samples"));
}

TEST_CASE("batch loader: a file that fails to load is replaced, counted and named", "[data]") {
  DataSettings settings = small_settings();
  settings.source = DataSource::folder;
  settings.validation_count = 0;
  settings.shuffle = false;
  auto source = std::make_shared<BrokenSource>(std::make_shared<ProceduralShapes>(6, 64, 2), std::set<int64_t>{1, 2});
  SegmentationDataset dataset(source, settings, Split::train, 16);
  BatchLoader loader(dataset, 3, 2);
  Batch batch = loader.next();
  // Items 1 and 2 fail: each slot takes the next item of the order that loads.
  CHECK(batch.indices == std::vector<int64_t>{0, 3, 3});
  CHECK(loader.skipped() == 3);
  REQUIRE(loader.failures().size() == 2);
  CHECK_THAT(loader.failures()[0], Catch::Contains("item1.jpg: truncated JPEG"));

  auto all_broken = std::make_shared<BrokenSource>(std::make_shared<ProceduralShapes>(2, 64, 2), std::set<int64_t>{0, 1});
  SegmentationDataset hopeless(all_broken, settings, Split::train, 16);
  BatchLoader failing(hopeless, 1, 1);
  CHECK_THROWS_WITH(failing.next(), Catch::Contains("no item of the data could be loaded") &&
                                        Catch::Contains("item0.jpg: truncated JPEG"));
}

TEST_CASE("dataset: validation images keep the largest objects, in model space", "[data]") {
  DataSettings settings = small_settings();
  settings.eval_objects = 2;
  SegmentationDataset validation(shapes(settings), settings, Split::validation, 16);
  for (int64_t index = 0; index < validation.size(); ++index) {
    ValidationImage image = validation.validation_image(index);
    CHECK(image.image.shape() == Shape{3, 64, 64});
    CHECK(image.pixels.shape() == Shape{64, 64, 3});
    REQUIRE(!image.masks.empty());
    CHECK(image.masks.size() <= 2);
    if (image.masks.size() == 2) {
      CHECK(sum(image.masks[0].to(DType::f32)).item() >= sum(image.masks[1].to(DType::f32)).item());
    }
  }
}

}  // namespace qatd::train::data
