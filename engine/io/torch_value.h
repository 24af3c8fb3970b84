#pragma once
// A value read from a torch.save checkpoint: the plain Python values a checkpoint holds
// (None, bool, int, float, str, list, tuple, dict) and tensors.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace qatd::io {

// Containers share their contents on copy; values are never modified after loading.
class TorchValue {
 public:
  enum class Kind { none, boolean, integer, floating, string, tensor, list, tuple, dict };
  using Items = std::vector<TorchValue>;                           // list or tuple
  using Entries = std::vector<std::pair<TorchValue, TorchValue>>;  // dict, in insertion order

  TorchValue() = default;  // None
  static TorchValue boolean(bool value);
  static TorchValue integer(int64_t value);
  static TorchValue floating(double value);
  static TorchValue string(std::string value);
  static TorchValue tensor(Tensor value);
  static TorchValue list(Items items);
  static TorchValue tuple(Items items);
  static TorchValue dict(Entries entries);

  Kind kind() const { return kind_; }
  bool is(Kind kind) const { return kind_ == kind; }
  // Python's name of the kind ("NoneType", "int", "str", "dict", "Tensor", ...), for messages.
  std::string_view type_name() const;

  // Accessors throw naming both kinds when the value is of another kind.
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;  // a float, or an int converted
  const std::string& as_string() const;
  const Tensor& as_tensor() const;
  const Items& items() const;  // of a list or a tuple
  const Entries& entries() const;
  // The value under a string key of a dict; nullptr when absent. Throws when not a dict.
  const TorchValue* find(std::string_view key) const;

 private:
  void expect(Kind kind) const;

  Kind kind_ = Kind::none;
  int64_t integer_ = 0;  // also holds a bool
  double floating_ = 0;
  Tensor tensor_;
  std::shared_ptr<const std::string> string_;
  std::shared_ptr<const Items> items_;
  std::shared_ptr<const Entries> entries_;
};

}  // namespace qatd::io
