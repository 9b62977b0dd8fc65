# Compiles every C++ block of README.md against an installed minidl (find_package(minidl)) and
# runs it. The block under "## Example" is a whole program whose output must equal the block
# after it ("prints"); the other blocks are fragments, compiled and run inside a main() that
# provides the names they use (images, labels, model, calibration_batch).
cmake_minimum_required(VERSION 3.18)  # modern policies for while(TRUE), if() with constants
# Called by CTest with -DSOURCE_DIR -DBUILD_DIR -DWORK_DIR -DCXX.

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

set(fragment_prelude [=[
#include <iostream>
#include <minidl/minidl.h>
using namespace minidl;
int main() {
  // The names README.md's fragments use.
  Tensor images = randn({4, 1, 28, 28});
  Tensor labels = from_vector<int64_t>({1, 2, 3, 4});
  ModelOptions model_options;
  model_options.in_channels = 1;
  std::shared_ptr<Module> model = build_model(model_options);
  Tensor calibration_batch = randn({8, 1, 28, 28});
  {
]=])

file(READ ${SOURCE_DIR}/README.md readme)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/src)
set(rest "${readme}")
set(index 0)
set(targets "")
while(TRUE)
  string(FIND "${rest}" "```cpp\n" start)
  if(start EQUAL -1)
    break()
  endif()
  string(SUBSTRING "${rest}" 0 ${start} before)
  math(EXPR start "${start} + 7")
  string(SUBSTRING "${rest}" ${start} -1 rest)
  string(FIND "${rest}" "```" end)
  string(SUBSTRING "${rest}" 0 ${end} code)
  string(SUBSTRING "${rest}" ${end} -1 rest)
  string(FIND "${code}" "int main(" is_program)
  if(is_program EQUAL -1)
    file(WRITE ${WORK_DIR}/src/block${index}.cpp "${fragment_prelude}${code}  }\n}\n")
  else()
    file(WRITE ${WORK_DIR}/src/block${index}.cpp "${code}")
  endif()
  string(FIND "${before}" "## Example" in_example REVERSE)
  string(FIND "${before}" "\n## " last_heading REVERSE)
  if(NOT in_example EQUAL -1 AND in_example GREATER_EQUAL last_heading)
    set(example_block ${index})
  endif()
  list(APPEND targets block${index})
  math(EXPR index "${index} + 1")
endwhile()
if(index EQUAL 0 OR NOT DEFINED example_block)
  message(FATAL_ERROR "README.md: no C++ blocks, or none under '## Example'")
endif()

set(cmakelists "cmake_minimum_required(VERSION 3.18)\nproject(readme_blocks CXX)\nfind_package(minidl REQUIRED)\n")
foreach(t ${targets})
  string(APPEND cmakelists "add_executable(${t} ${t}.cpp)\ntarget_link_libraries(${t} PRIVATE minidl::minidl)\n")
endforeach()
file(WRITE ${WORK_DIR}/src/CMakeLists.txt "${cmakelists}")

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${WORK_DIR}/src -B ${WORK_DIR}/build -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2)

foreach(t ${targets})
  execute_process(COMMAND ${WORK_DIR}/build/${t} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "README.md's C++ block ${t} exited with ${rc}:\n${out}\n${err}")
  endif()
  if(t STREQUAL "block${example_block}")
    set(marker "prints\n\n```text\n")
    string(FIND "${readme}" "${marker}" at)
    string(LENGTH "${marker}" marker_length)
    math(EXPR at "${at} + ${marker_length}")
    string(SUBSTRING "${readme}" ${at} -1 tail)
    string(FIND "${tail}" "```" end)
    string(SUBSTRING "${tail}" 0 ${end} expected)
    if(NOT out STREQUAL expected)
      message(FATAL_ERROR "the README example printed\n${out}\nbut README.md shows\n${expected}")
    endif()
  endif()
endforeach()
message(STATUS "${index} C++ blocks of README.md compiled against the installed minidl and ran; the example printed what README.md shows")
