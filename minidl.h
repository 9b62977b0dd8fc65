// minidl — one include for the whole public API: #include <minidl/minidl.h>
#pragma once

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "core/tensor.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
