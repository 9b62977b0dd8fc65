// Built instead of the .cu files when MINIDL_CUDA is OFF or the toolkit is missing.
#include "../device.h"

namespace minidl::cuda {

int device_count() { return 0; }
bool is_built() { return false; }

}  // namespace minidl::cuda
