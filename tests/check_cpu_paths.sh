#!/bin/sh
# Every instruction beyond baseline x86-64 in libminidl_core must sit in the copy of core/cpu/
# compiled for it (core/cpu/capability.h): AVX (VEX/EVEX-coded "v..." instructions) only in
# minidl::cpu::avx2:: or ::avx512:: functions, AVX-512 (zmm or mask registers) only in ::avx512::.
# Anything else would crash with SIGILL on a CPU without it — e.g. an inline function shared by the
# copies whose AVX-512 version the linker kept (CMakeLists.txt links the generic copy first).
# Usage: tests/check_cpu_paths.sh LIBRARY (a .so or .a)
set -eu
objdump -d --no-show-raw-insn -C "$1" | awk '
  /^[0-9a-f]+ <.*>:$/ { fn = $0; next }
  /^ +[0-9a-f]+:\t/ {
    split($0, parts, "\t"); insn = parts[2]
    avx = insn ~ /^v[a-z]/ || insn ~ /%ymm/
    avx512 = insn ~ /%zmm|%k[0-7]/ || insn ~ /^k[a-z]+ /
    if (avx512 && fn !~ /::avx512::/) { bad[fn] = "AVX-512: " insn }
    else if (avx && fn !~ /::avx2::|::avx512::/) { bad[fn] = "AVX: " insn }
  }
  END {
    n = 0
    for (f in bad) { print f "  " bad[f]; n++ }
    if (n) { print n " function(s) use instructions outside their CPU path"; exit 1 }
    print "every AVX and AVX-512 instruction is in its CPU path'"'"'s copy"
  }'
