#pragma once
// Optimizers, gradient clipping and learning-rate schedulers in one include.
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/lr_scheduler.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/sgd.h"
