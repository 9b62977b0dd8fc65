# Builds the README's C++ example against an installed minidl and checks its output.
# Called by CTest with -DSOURCE_DIR -DBUILD_DIR -DWORK_DIR -DCXX.

function(block_after text marker out)
  string(FIND "${text}" "${marker}" start)
  if(start EQUAL -1)
    message(FATAL_ERROR "README.md: no '${marker}' block found")
  endif()
  string(LENGTH "${marker}" len)
  math(EXPR start "${start} + ${len}")
  string(SUBSTRING "${text}" ${start} -1 rest)
  string(FIND "${rest}" "```" end)
  string(SUBSTRING "${rest}" 0 ${end} block)
  set(${out} "${block}" PARENT_SCOPE)
endfunction()

file(READ ${SOURCE_DIR}/README.md readme)
block_after("${readme}" "## Example\n\n```cpp\n" code)
block_after("${readme}" "prints\n\n```text\n" expected)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/src)
file(WRITE ${WORK_DIR}/src/main.cpp "${code}")
file(WRITE ${WORK_DIR}/src/CMakeLists.txt
  "cmake_minimum_required(VERSION 3.18)\n"
  "project(readme_example CXX)\n"
  "find_package(minidl REQUIRED)\n"
  "add_executable(example main.cpp)\n"
  "target_link_libraries(example PRIVATE minidl::minidl)\n")

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${WORK_DIR}/src -B ${WORK_DIR}/build -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
execute_process(COMMAND ${WORK_DIR}/build/example RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README example exited with ${rc}:\n${out}\n${err}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "the README example printed\n${out}\nbut README.md shows\n${expected}")
endif()
message(STATUS "README example compiled against the installed minidl and printed what README.md shows")
