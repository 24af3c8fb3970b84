#include "engine/io/torch_value.h"

namespace qatd::io {

TorchValue TorchValue::boolean(bool value) {
  TorchValue result;
  result.kind_ = Kind::boolean;
  result.integer_ = value ? 1 : 0;
  return result;
}

TorchValue TorchValue::integer(int64_t value) {
  TorchValue result;
  result.kind_ = Kind::integer;
  result.integer_ = value;
  return result;
}

TorchValue TorchValue::floating(double value) {
  TorchValue result;
  result.kind_ = Kind::floating;
  result.floating_ = value;
  return result;
}

TorchValue TorchValue::string(std::string value) {
  TorchValue result;
  result.kind_ = Kind::string;
  result.string_ = std::make_shared<const std::string>(std::move(value));
  return result;
}

TorchValue TorchValue::tensor(Tensor value) {
  TorchValue result;
  result.kind_ = Kind::tensor;
  result.tensor_ = std::move(value);
  return result;
}

TorchValue TorchValue::list(Items items) {
  TorchValue result;
  result.kind_ = Kind::list;
  result.items_ = std::make_shared<const Items>(std::move(items));
  return result;
}

TorchValue TorchValue::tuple(Items items) {
  TorchValue result = list(std::move(items));
  result.kind_ = Kind::tuple;
  return result;
}

TorchValue TorchValue::dict(Entries entries) {
  TorchValue result;
  result.kind_ = Kind::dict;
  result.entries_ = std::make_shared<const Entries>(std::move(entries));
  return result;
}

std::string_view TorchValue::type_name() const {
  constexpr std::string_view kNames[] = {"NoneType", "bool", "int", "float", "str", "Tensor", "list", "tuple", "dict"};
  return kNames[static_cast<size_t>(kind_)];
}

void TorchValue::expect(Kind kind) const {
  if (kind_ == kind) return;
  TorchValue expected;
  expected.kind_ = kind;
  fail("torch value: expected {}, found {}", expected.type_name(), type_name());
}

bool TorchValue::as_bool() const {
  expect(Kind::boolean);
  return integer_ != 0;
}

int64_t TorchValue::as_int() const {
  expect(Kind::integer);
  return integer_;
}

double TorchValue::as_float() const {
  if (kind_ == Kind::integer) return static_cast<double>(integer_);
  expect(Kind::floating);
  return floating_;
}

const std::string& TorchValue::as_string() const {
  expect(Kind::string);
  return *string_;
}

const Tensor& TorchValue::as_tensor() const {
  expect(Kind::tensor);
  return tensor_;
}

const TorchValue::Items& TorchValue::items() const {
  if (kind_ != Kind::tuple) expect(Kind::list);
  return *items_;
}

const TorchValue::Entries& TorchValue::entries() const {
  expect(Kind::dict);
  return *entries_;
}

const TorchValue* TorchValue::find(std::string_view key) const {
  for (const auto& [name, value] : entries()) {
    if (name.is(Kind::string) && name.as_string() == key) return &value;
  }
  return nullptr;
}

}  // namespace qatd::io
