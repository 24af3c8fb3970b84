#pragma once
// A restricted unpickler for the pickle program inside a torch.save checkpoint (data.pkl).
// It is a data reader, not a Python: it knows the opcodes that state dicts and plain values
// use, and a short list of globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter[_with_state] and the torch.*Storage types), which it
// interprets itself. Any other global (os.system, builtins.eval, ...) is refused by name when
// the program mentions it, so loading a file never runs anything it names.
#include <functional>
#include <memory>
#include <string>

#include "engine/io/torch_value.h"

namespace qatd::io {

// Returns the bytes of the storage that a persistent id ('storage', torch.FloatStorage, key,
// location, numel) names: numel elements of dtype, aligned for that dtype. Called once per key.
using TorchStorageLoader = std::function<std::shared_ptr<Storage>(const std::string& key, DType dtype, int64_t numel)>;

// Runs the pickle program in bytes [data, data + size) and returns what it builds. Tensors
// are views of the loaded storages with the saved sizes, strides and offsets (checked to lie
// inside them). `source` names the program in error messages ("model.pt: model/data.pkl").
TorchValue unpickle_torch(const void* data, size_t size, const TorchStorageLoader& load_storage,
                          const std::string& source);

}  // namespace qatd::io
