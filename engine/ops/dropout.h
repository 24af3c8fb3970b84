#pragma once
// Inverted dropout: zeros with probability p and scales survivors by 1/(1-p) when training;
// the identity otherwise.
#include "engine/random.h"

namespace qatd {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);

}  // namespace qatd
