#pragma once
// Module: named parameters, buffers and submodules with PyTorch's state_dict naming
// ("blocks.3.attn.qkv.weight"), train/eval mode, forward hooks and strict state loading.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/tensor.h"

namespace qatd::nn {

class Module;
// Called with the module and its output after forward; may return a replacement output
// (an undefined Tensor keeps the output). The distillation trainer captures activations here.
using ForwardHook = std::function<Tensor(Module& module, const Tensor& output)>;

// Applied to a parameter each time forward reads it (fake quantization of a layer's weight, for
// instance); the stored parameter, its name and its gradient's target stay as they are.
using ParameterTransform = std::function<Tensor(const Tensor& parameter)>;

// What load_state_dict found; strict loading throws when any list is non-empty.
struct LoadResult {
  std::vector<std::string> missing;     // in the module, not in the state
  std::vector<std::string> unexpected;  // in the state, not in the module
  std::vector<std::string> mismatched;  // in both, with different shapes ("name: state [..] vs module [..]")
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string describe() const;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Registration, in the order that names and state_dict keys follow. The module keeps a
  // pointer to the member tensor, so members stay in sync with loading and dtype changes.
  void register_parameter(const std::string& name, Tensor& slot);
  void register_buffer(const std::string& name, Tensor& slot, bool persistent = true);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // Dotted names, parameters shared between submodules listed once (as in PyTorch).
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Module*>> named_modules();
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // The submodule at a dotted path ("image_encoder.trunk.blocks.3"); throws when absent.
  Module& submodule(const std::string& path);

  // Parameters and persistent buffers, detached, under their dotted names.
  io::NamedTensors state_dict() const;
  // Copies matching entries (converting dtype). With strict, any missing, unexpected or
  // shape-mismatched key throws a message listing every one of them by name, and nothing is
  // copied; without strict, matching keys are copied and the result lists the rest.
  LoadResult load_state_dict(const io::NamedTensors& state, bool strict = true);

  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Sets every parameter's gradient to undefined (PyTorch's set_to_none).
  void zero_grad();
  void requires_grad_(bool requires_grad);
  // Converts parameters and buffers of floating dtype.
  void to(DType dtype);

  // Returns a handle for remove_forward_hook.
  int register_forward_hook(ForwardHook hook);
  void remove_forward_hook(int handle);

  // Sets (or, with an empty function, clears) the transform of this module's own parameter
  // `name`. Layers that support it (Linear, Conv2d, ConvTranspose2d) read their weight through
  // read_parameter(); others ignore it.
  void set_parameter_transform(const std::string& name, ParameterTransform transform);
  bool has_parameter_transform(const std::string& name) const;

  // The class name PyTorch would print ("Linear", "MultiScaleBlock").
  virtual std::string type_name() const = 0;

 protected:
  // Runs the forward hooks. UnaryModule::operator() calls it; modules with other forward signatures
  // end forward with `return finish_forward(output);` (calling it twice would run the hooks twice).
  Tensor finish_forward(const Tensor& output);
  // The parameter in `slot` as forward should use it: through its transform when one is set.
  Tensor read_parameter(const Tensor& slot) const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out);

  struct Slot {
    std::string name;
    Tensor* tensor;
    bool persistent = true;
    ParameterTransform transform;  // parameters only
  };
  std::vector<Slot> parameters_;
  std::vector<Slot> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<int, ForwardHook>> forward_hooks_;
  int next_hook_handle_ = 0;
  bool training_ = true;
};

// A module of one input and one output; calling it runs forward and the forward hooks.
class UnaryModule : public Module {
 public:
  Tensor operator()(const Tensor& input) { return finish_forward(forward(input)); }
  virtual Tensor forward(const Tensor& input) = 0;
};

}  // namespace qatd::nn
