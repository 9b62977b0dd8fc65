// The raw tensor kernels: plain functions from tensors to new tensors, no autograd.
// One header per op family under core/kernels/ declares the ops and, once, the signature each
// backend implements (core/cpu/*.cpp, core/cuda/*.cu); core/kernels/*.cpp dispatch between them.
// autograd/ops builds on these.
#pragma once

#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/optim.h"
#include "kernels/pool.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
