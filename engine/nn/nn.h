#pragma once
// Every layer of the engine's nn library.
#include "engine/nn/activation.h"
#include "engine/nn/containers.h"
#include "engine/nn/conv.h"
#include "engine/nn/embedding.h"
#include "engine/nn/init.h"
#include "engine/nn/linear.h"
#include "engine/nn/mlp.h"
#include "engine/nn/module.h"
#include "engine/nn/normalization.h"
