#include "engine/io/torch_pickle.h"

#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>

namespace qatd::io {

namespace {

// The globals a torch.save state dict may name; anything else is refused.
enum class Global { ordered_dict, rebuild_tensor_v2, rebuild_parameter, rebuild_parameter_with_state, storage_type };

struct AllowedGlobal {
  std::string_view module, name;
  Global global;
  std::optional<DType> dtype;  // a storage type's element type
};

constexpr AllowedGlobal kAllowedGlobals[] = {
    {"collections", "OrderedDict", Global::ordered_dict, std::nullopt},
    {"torch._utils", "_rebuild_tensor_v2", Global::rebuild_tensor_v2, std::nullopt},
    {"torch._utils", "_rebuild_parameter", Global::rebuild_parameter, std::nullopt},
    {"torch._utils", "_rebuild_parameter_with_state", Global::rebuild_parameter_with_state, std::nullopt},
    {"torch", "FloatStorage", Global::storage_type, DType::f32},
    {"torch", "DoubleStorage", Global::storage_type, DType::f64},
    {"torch", "HalfStorage", Global::storage_type, DType::f16},
    {"torch", "BFloat16Storage", Global::storage_type, DType::bf16},
    {"torch", "LongStorage", Global::storage_type, DType::i64},
    {"torch", "IntStorage", Global::storage_type, DType::i32},
    {"torch", "ShortStorage", Global::storage_type, DType::i16},
    {"torch", "CharStorage", Global::storage_type, DType::i8},
    {"torch", "ByteStorage", Global::storage_type, DType::u8},
    {"torch", "BoolStorage", Global::storage_type, DType::boolean},
    {"torch", "UntypedStorage", Global::storage_type, DType::u8},
    {"torch.storage", "UntypedStorage", Global::storage_type, DType::u8},
};

// Names of the standard opcodes this reader refuses, for clearer messages.
// clang-format off
constexpr std::pair<unsigned char, std::string_view> kRefusedOpcodes[] = {
    {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"}, {'L', "LONG"}, {'P', "PERSID"},
    {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'g', "GET"}, {'i', "INST"},
    {'o', "OBJ"}, {'p', "PUT"}, {'\x81', "NEWOBJ"}, {'\x82', "EXT1"}, {'\x83', "EXT2"}, {'\x84', "EXT4"},
    {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {'\x8e', "BINBYTES8"}, {'\x8f', "EMPTY_SET"}, {'\x90', "ADDITEMS"},
    {'\x91', "FROZENSET"}, {'\x92', "NEWOBJ_EX"}, {'\x96', "BYTEARRAY8"}, {'\x97', "NEXT_BUFFER"},
    {'\x98', "READONLY_BUFFER"},
};
// clang-format on

constexpr size_t kMaxDepth = 256;  // nesting of the result; deeper (or recursive) programs are refused

using ObjectId = uint32_t;

// A value under construction. Lists and dicts are mutable until STOP, and the memo may hold
// references to them, so the machine keeps objects in an arena and refers to them by index.
struct Object {
  enum class Kind { none, boolean, integer, floating, string, tensor, list, tuple, dict, global, storage };
  Kind kind = Kind::none;
  int64_t integer = 0;
  double floating = 0;
  std::string text;  // a string, or a global's dotted name
  const AllowedGlobal* global = nullptr;
  bool ordered_dict = false;  // made by collections.OrderedDict, so BUILD may set its attributes
  Tensor tensor;
  std::shared_ptr<Storage> storage;
  DType dtype = DType::u8;  // of a storage
  int64_t numel = 0;        // of a storage
  std::vector<ObjectId> items;
  std::vector<std::pair<ObjectId, ObjectId>> entries;
  std::unordered_map<std::string, size_t> string_keys;  // entry index by key, so a repeated key replaces
  std::unordered_map<int64_t, size_t> integer_keys;
};

std::string_view kind_name(Object::Kind kind) {
  constexpr std::string_view kNames[] = {"NoneType", "bool",  "int",  "float",  "str",    "Tensor",
                                         "list",     "tuple", "dict", "global", "storage"};
  return kNames[static_cast<size_t>(kind)];
}

class Machine {
 public:
  Machine(const unsigned char* data, size_t size, const TorchStorageLoader& load_storage, const std::string& source)
      : data_(data), size_(size), load_storage_(load_storage), source_(source) {}

  TorchValue run();

 private:
  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> format, Args&&... args) const {
    fail("torch pickle {}: at byte {}: {}", source_, opcode_position_,
         fmt::format(format, std::forward<Args>(args)...));
  }

  // Reading the program.
  const unsigned char* take(uint64_t count);
  uint64_t take_le(int count);
  std::string take_line();

  // The arena, the stack and marks.
  ObjectId make(Object object);
  ObjectId make(Object::Kind kind);
  Object& at(ObjectId id) { return objects_[id]; }
  void push(ObjectId id) { stack_.push_back(id); }
  ObjectId pop();
  ObjectId top();
  std::vector<ObjectId> pop_to_mark();
  Object& expect(ObjectId id, Object::Kind kind, std::string_view what);

  // Opcodes with more than a line of work.
  void push_global(const std::string& module, const std::string& name);
  void push_long(uint64_t length);
  void set_item(ObjectId dict, ObjectId key, ObjectId value);
  void persistent_load();
  void reduce();
  void build();
  ObjectId rebuild_tensor(const std::vector<ObjectId>& args);

  TorchValue convert(ObjectId id, size_t depth);

  const unsigned char* data_;
  size_t size_;
  const TorchStorageLoader& load_storage_;
  const std::string& source_;
  size_t position_ = 0;
  size_t opcode_position_ = 0;
  std::vector<Object> objects_;
  std::vector<ObjectId> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ObjectId> memo_;
  std::map<std::string, ObjectId> storages_;  // by key: a storage is loaded once however often it is named
  std::vector<std::optional<TorchValue>> converted_;
  std::vector<bool> converting_;
};

const unsigned char* Machine::take(uint64_t count) {
  if (count > size_ - position_) error("the program ends in the middle of an opcode (truncated data.pkl?)");
  const unsigned char* bytes = data_ + position_;
  position_ += count;
  return bytes;
}

uint64_t Machine::take_le(int count) {
  const unsigned char* bytes = take(count);
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::string Machine::take_line() {
  const void* end = std::memchr(data_ + position_, '\n', size_ - position_);
  if (end == nullptr) error("unterminated line (truncated data.pkl?)");
  size_t length = static_cast<const unsigned char*>(end) - (data_ + position_);
  std::string line(reinterpret_cast<const char*>(take(length)), length);
  take(1);
  return line;
}

ObjectId Machine::make(Object object) {
  if (objects_.size() >= std::numeric_limits<ObjectId>::max()) error("too many objects");
  objects_.push_back(std::move(object));
  return static_cast<ObjectId>(objects_.size() - 1);
}

ObjectId Machine::make(Object::Kind kind) {
  Object object;
  object.kind = kind;
  return make(std::move(object));
}

ObjectId Machine::pop() {
  if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size())) error("the stack is empty");
  ObjectId id = stack_.back();
  stack_.pop_back();
  return id;
}

ObjectId Machine::top() {
  if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size())) error("the stack is empty");
  return stack_.back();
}

std::vector<ObjectId> Machine::pop_to_mark() {
  if (marks_.empty()) error("no MARK to pop to");
  std::vector<ObjectId> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
  stack_.resize(marks_.back());
  marks_.pop_back();
  return items;
}

Object& Machine::expect(ObjectId id, Object::Kind kind, std::string_view what) {
  Object& object = at(id);
  if (object.kind != kind) error("{} must be a {}, found {}", what, kind_name(kind), kind_name(object.kind));
  return object;
}

void Machine::push_global(const std::string& module, const std::string& name) {
  for (const AllowedGlobal& allowed : kAllowedGlobals) {
    if (allowed.module == module && allowed.name == name) {
      Object object;
      object.kind = Object::Kind::global;
      object.global = &allowed;
      object.text = module + "." + name;
      push(make(std::move(object)));
      return;
    }
  }
  error(
      "global '{}.{}' is not allowed: a checkpoint may only name collections.OrderedDict, torch._utils."
      "_rebuild_tensor_v2, torch._utils._rebuild_parameter and the torch storage types, and loading never "
      "runs code",
      module, name);
}

void Machine::push_long(uint64_t length) {
  // Two's complement, little-endian; Python writes the fewest bytes, so 8 cover int64.
  if (length > 8) error("integer of {} bytes does not fit in 64 bits", length);
  const unsigned char* bytes = take(length);
  uint64_t value = 0;
  for (uint64_t i = 0; i < length; ++i) value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (length > 0 && length < 8 && (bytes[length - 1] & 0x80)) value |= ~uint64_t{0} << (8 * length);
  Object object;
  object.kind = Object::Kind::integer;
  object.integer = static_cast<int64_t>(value);
  push(make(std::move(object)));
}

void Machine::set_item(ObjectId dict, ObjectId key, ObjectId value) {
  Object& target = expect(dict, Object::Kind::dict, "the target of SETITEM(S)");
  const Object& key_object = at(key);
  std::optional<size_t> existing;
  switch (key_object.kind) {
    case Object::Kind::string:
      if (auto found = target.string_keys.find(key_object.text); found != target.string_keys.end()) {
        existing = found->second;
      } else {
        target.string_keys.emplace(key_object.text, target.entries.size());
      }
      break;
    case Object::Kind::integer:
      if (auto found = target.integer_keys.find(key_object.integer); found != target.integer_keys.end()) {
        existing = found->second;
      } else {
        target.integer_keys.emplace(key_object.integer, target.entries.size());
      }
      break;
    case Object::Kind::none:
    case Object::Kind::boolean:
    case Object::Kind::floating:
    case Object::Kind::tuple:
      break;
    default:
      error("a dict key of type {} is not supported", kind_name(key_object.kind));
  }
  if (existing) {
    target.entries[*existing].second = value;
  } else {
    target.entries.emplace_back(key, value);
  }
}

void Machine::persistent_load() {
  ObjectId id = pop();
  const Object& pid = expect(id, Object::Kind::tuple, "a persistent id");
  if (pid.items.size() != 5 || at(pid.items[0]).kind != Object::Kind::string || at(pid.items[0]).text != "storage") {
    error("persistent id is not ('storage', type, key, location, numel)");
  }
  const Object& type = expect(pid.items[1], Object::Kind::global, "a storage's type");
  if (type.global->global != Global::storage_type) error("{} is not a storage type", type.text);
  if (!type.global->dtype) error("{} tensors are not supported (no matching qatd dtype)", type.text);
  std::string key = expect(pid.items[2], Object::Kind::string, "a storage's key").text;
  expect(pid.items[3], Object::Kind::string, "a storage's location");
  int64_t numel = expect(pid.items[4], Object::Kind::integer, "a storage's size").integer;
  DType dtype = *type.global->dtype;
  if (numel < 0) error("storage '{}' has negative size {}", key, numel);

  if (auto found = storages_.find(key); found != storages_.end()) {
    const Object& loaded = at(found->second);
    if (loaded.dtype != dtype || loaded.numel != numel) {
      error("storage '{}' is named as {} {} and as {} {} elements", key, loaded.numel, loaded.dtype, numel, dtype);
    }
    push(found->second);
    return;
  }
  Object storage;
  storage.kind = Object::Kind::storage;
  storage.dtype = dtype;
  storage.numel = numel;
  storage.text = key;
  storage.storage = load_storage_(key, dtype, numel);
  size_t expected_bytes = static_cast<size_t>(numel) * dtype_size(dtype);
  QATD_CHECK(storage.storage && storage.storage->nbytes() >= expected_bytes &&
                 reinterpret_cast<uintptr_t>(storage.storage->data()) % dtype_size(dtype) == 0,
             "torch pickle {}: the loader returned a short or misaligned storage for '{}'", source_, key);
  ObjectId storage_id = make(std::move(storage));
  storages_.emplace(key, storage_id);
  push(storage_id);
}

ObjectId Machine::rebuild_tensor(const std::vector<ObjectId>& args) {
  if (args.size() != 6 && args.size() != 7) {
    error("_rebuild_tensor_v2 takes 6 or 7 arguments, got {}", args.size());
  }
  const Object& storage = expect(args[0], Object::Kind::storage, "_rebuild_tensor_v2's storage");
  int64_t offset = expect(args[1], Object::Kind::integer, "_rebuild_tensor_v2's storage offset").integer;
  auto int_tuple = [&](ObjectId id, std::string_view what) {
    Shape values;
    for (ObjectId item : expect(id, Object::Kind::tuple, what).items) {
      values.push_back(expect(item, Object::Kind::integer, what).integer);
    }
    return values;
  };
  Shape shape = int_tuple(args[2], "_rebuild_tensor_v2's size");
  Shape strides = int_tuple(args[3], "_rebuild_tensor_v2's stride");
  if (shape.size() != strides.size()) {
    error("tensor size {} and stride {} differ in rank", shape_str(shape), shape_str(strides));
  }
  // The view must lie inside the storage: its last element is at offset + sum((size-1) * stride).
  auto geometry = [&] {
    return fmt::format("size {} stride {} offset {}", shape_str(shape), shape_str(strides), offset);
  };
  if (offset < 0) error("tensor with {} has a negative offset", geometry());
  int64_t numel = 1, last = offset;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0 || strides[d] < 0) error("tensor with {} has a negative size or stride", geometry());
    int64_t reach = 0;
    if (__builtin_mul_overflow(numel, shape[d], &numel) ||
        (shape[d] > 0 &&
         (__builtin_mul_overflow(shape[d] - 1, strides[d], &reach) || __builtin_add_overflow(last, reach, &last)))) {
      error("tensor with {} overflows 64-bit indexing", geometry());
    }
  }
  if ((numel > 0 && last >= storage.numel) || offset > storage.numel) {
    error("tensor with {} needs {} elements but its storage '{}' holds {} (storage too small)", geometry(),
          numel > 0 ? last + 1 : offset, storage.text, storage.numel);
  }
  Object tensor;
  tensor.kind = Object::Kind::tensor;
  tensor.tensor = make_view(storage.storage, storage.dtype, shape, strides, offset);
  return make(std::move(tensor));
}

void Machine::reduce() {
  ObjectId args_id = pop();
  ObjectId callable_id = pop();
  const Object& callable = expect(callable_id, Object::Kind::global, "the callable of REDUCE");
  std::vector<ObjectId> args = expect(args_id, Object::Kind::tuple, "the arguments of REDUCE").items;
  switch (callable.global->global) {
    case Global::ordered_dict: {
      if (!args.empty()) error("collections.OrderedDict is only supported without arguments");
      Object dict;
      dict.kind = Object::Kind::dict;
      dict.ordered_dict = true;
      push(make(std::move(dict)));
      return;
    }
    case Global::rebuild_tensor_v2:
      push(rebuild_tensor(args));
      return;
    case Global::rebuild_parameter:
    case Global::rebuild_parameter_with_state: {
      // (data, requires_grad, backward_hooks[, state]): the parameter's values are its data;
      // requires_grad, hooks and Python attributes describe training state, not weights.
      size_t expected = callable.global->global == Global::rebuild_parameter ? 3 : 4;
      if (args.size() != expected) error("{} takes {} arguments, got {}", callable.text, expected, args.size());
      Object tensor;
      tensor.kind = Object::Kind::tensor;
      tensor.tensor = expect(args[0], Object::Kind::tensor, "a parameter's data").tensor;
      push(make(std::move(tensor)));
      return;
    }
    case Global::storage_type:
      error("{} cannot be called", callable.text);
  }
}

void Machine::build() {
  ObjectId state = pop();
  const Object& target = at(top());
  // torch.save keeps a state dict's version metadata as an attribute of the OrderedDict
  // (state_dict._metadata); the values carry everything a loader needs, so it is dropped.
  if (target.kind == Object::Kind::dict && target.ordered_dict &&
      (at(state).kind == Object::Kind::dict || at(state).kind == Object::Kind::none)) {
    return;
  }
  error("BUILD on a {} with a {} state is not supported", kind_name(target.kind), kind_name(at(state).kind));
}

TorchValue Machine::convert(ObjectId id, size_t depth) {
  if (converted_[id]) return *converted_[id];
  if (converting_[id] || depth > kMaxDepth) {
    error("the result is recursive or nested deeper than {} levels", kMaxDepth);
  }
  converting_[id] = true;
  const Object& object = at(id);
  TorchValue value;
  switch (object.kind) {
    case Object::Kind::none:
      break;
    case Object::Kind::boolean:
      value = TorchValue::boolean(object.integer != 0);
      break;
    case Object::Kind::integer:
      value = TorchValue::integer(object.integer);
      break;
    case Object::Kind::floating:
      value = TorchValue::floating(object.floating);
      break;
    case Object::Kind::string:
      value = TorchValue::string(object.text);
      break;
    case Object::Kind::tensor:
      value = TorchValue::tensor(object.tensor);
      break;
    case Object::Kind::list:
    case Object::Kind::tuple: {
      TorchValue::Items items;
      items.reserve(object.items.size());
      for (ObjectId item : object.items) items.push_back(convert(item, depth + 1));
      value =
          object.kind == Object::Kind::list ? TorchValue::list(std::move(items)) : TorchValue::tuple(std::move(items));
      break;
    }
    case Object::Kind::dict: {
      TorchValue::Entries entries;
      entries.reserve(object.entries.size());
      for (const auto& [key, item] : object.entries) {
        entries.emplace_back(convert(key, depth + 1), convert(item, depth + 1));
      }
      value = TorchValue::dict(std::move(entries));
      break;
    }
    case Object::Kind::global:
    case Object::Kind::storage:
      error("the result holds a bare {} ({}), which is not a value", kind_name(object.kind), object.text);
  }
  converting_[id] = false;
  converted_[id] = value;
  return value;
}

TorchValue Machine::run() {
  for (;;) {
    opcode_position_ = position_;
    unsigned char opcode = *take(1);
    switch (opcode) {
      case 0x80: {  // PROTO
        uint64_t version = take_le(1);
        if (version > 5) error("pickle protocol {} is newer than 5", version);
        break;
      }
      case 0x95:  // FRAME: a length hint for buffered readers; the whole program is in memory
        take_le(8);
        break;
      case '.': {  // STOP
        if (!marks_.empty() || stack_.size() != 1) error("STOP with {} values on the stack", stack_.size());
        converted_.assign(objects_.size(), std::nullopt);
        converting_.assign(objects_.size(), false);
        return convert(stack_.back(), 0);
      }
      case 'c': {  // GLOBAL
        std::string module = take_line();
        std::string name = take_line();
        push_global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ObjectId name = pop(), module = pop();
        push_global(expect(module, Object::Kind::string, "STACK_GLOBAL's module").text,
                    expect(name, Object::Kind::string, "STACK_GLOBAL's name").text);
        break;
      }
      case 'Q':  // BINPERSID
        persistent_load();
        break;
      case 'R':  // REDUCE
        reduce();
        break;
      case 'b':  // BUILD
        build();
        break;
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case 't':    // TUPLE
      case 'l': {  // LIST
        Object object;
        object.kind = opcode == 't' ? Object::Kind::tuple : Object::Kind::list;
        object.items = pop_to_mark();
        push(make(std::move(object)));
        break;
      }
      case ')':  // EMPTY_TUPLE
        push(make(Object::Kind::tuple));
        break;
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        Object object;
        object.kind = Object::Kind::tuple;
        object.items.resize(opcode - 0x84);
        for (size_t i = object.items.size(); i-- > 0;) object.items[i] = pop();
        push(make(std::move(object)));
        break;
      }
      case ']':  // EMPTY_LIST
        push(make(Object::Kind::list));
        break;
      case 'a': {  // APPEND
        ObjectId item = pop();
        expect(top(), Object::Kind::list, "the target of APPEND").items.push_back(item);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<ObjectId> items = pop_to_mark();
        auto& list = expect(top(), Object::Kind::list, "the target of APPENDS").items;
        list.insert(list.end(), items.begin(), items.end());
        break;
      }
      case '}':  // EMPTY_DICT
        push(make(Object::Kind::dict));
        break;
      case 'd': {  // DICT
        std::vector<ObjectId> items = pop_to_mark();
        if (items.size() % 2 != 0) error("DICT needs key-value pairs, got {} values", items.size());
        ObjectId dict = make(Object::Kind::dict);
        for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        push(dict);
        break;
      }
      case 's': {  // SETITEM
        ObjectId value = pop(), key = pop();
        set_item(top(), key, value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<ObjectId> items = pop_to_mark();
        if (items.size() % 2 != 0) error("SETITEMS needs key-value pairs, got {} values", items.size());
        ObjectId dict = top();
        for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        break;
      }
      case 'N':  // NONE
        push(make(Object::Kind::none));
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        Object object;
        object.kind = Object::Kind::boolean;
        object.integer = opcode == 0x88;
        push(make(std::move(object)));
        break;
      }
      case 'J':    // BININT: signed 32-bit
      case 'K':    // BININT1: unsigned 8-bit
      case 'M': {  // BININT2: unsigned 16-bit
        Object object;
        object.kind = Object::Kind::integer;
        object.integer = opcode == 'J'   ? static_cast<int32_t>(take_le(4))
                         : opcode == 'K' ? static_cast<int64_t>(take_le(1))
                                         : static_cast<int64_t>(take_le(2));
        push(make(std::move(object)));
        break;
      }
      case 0x8a:  // LONG1
        push_long(take_le(1));
        break;
      case 0x8b:  // LONG4
        push_long(take_le(4));
        break;
      case 'G': {  // BINFLOAT: big-endian IEEE 754 double
        const unsigned char* bytes = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | bytes[i];
        Object object;
        object.kind = Object::Kind::floating;
        std::memcpy(&object.floating, &bits, sizeof bits);
        push(make(std::move(object)));
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d: {  // BINUNICODE8
        uint64_t length = take_le(opcode == 'X' ? 4 : opcode == 0x8c ? 1 : 8);
        const unsigned char* bytes = take(length);
        Object object;
        object.kind = Object::Kind::string;
        object.text.assign(reinterpret_cast<const char*>(bytes), length);
        push(make(std::move(object)));
        break;
      }
      case 'q':  // BINPUT
        memo_[take_le(1)] = top();
        break;
      case 'r':  // LONG_BINPUT
        memo_[take_le(4)] = top();
        break;
      case 0x94:  // MEMOIZE
        memo_[memo_.size()] = top();
        break;
      case 'h':    // BINGET
      case 'j': {  // LONG_BINGET
        uint64_t index = take_le(opcode == 'h' ? 1 : 4);
        auto found = memo_.find(index);
        if (found == memo_.end()) error("memo entry {} was never stored", index);
        push(found->second);
        break;
      }
      default: {
        for (const auto& [code, name] : kRefusedOpcodes) {
          if (code == opcode) error("pickle opcode {} (0x{:02x}) is not supported in a checkpoint", name, opcode);
        }
        error("unknown pickle opcode 0x{:02x}", opcode);
      }
    }
  }
}

}  // namespace

TorchValue unpickle_torch(const void* data, size_t size, const TorchStorageLoader& load_storage,
                          const std::string& source) {
  Machine machine(static_cast<const unsigned char*>(data), size, load_storage, source);
  return machine.run();
}

}  // namespace qatd::io
