# Fails the build when an ISA-specific kernel object (compiled with -mavx2 / -mavx512f) defines a
# weak symbol outside its dl::isa_<name> namespace: an inline function or template (a std::vector
# method, say) that baseline code also uses.  The linker keeps one copy of such a function, and if
# it keeps the AVX-512 one, a CPU without AVX-512 crashes when baseline code calls it.
# Usage: cmake -DNM=<nm> -DOBJS="a.o|b.o" -P check_isa_symbols.cmake
string(REPLACE "|" ";" _objs "${OBJS}")
set(_bad "")
foreach(_obj IN LISTS _objs)
  execute_process(COMMAND "${NM}" --defined-only "${_obj}" OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)  # an nm that cannot read these (LTO) objects: skip the check, do not fail
    message(WARNING "check_isa_symbols: ${NM} cannot read ${_obj}; check skipped")
    return()
  endif()
  string(REPLACE "\n" ";" _lines "${_out}")
  foreach(_line IN LISTS _lines)
    # "<address> <type> <name>": weak (W, V) and unique (u) definitions are the merged kinds.
    if(_line MATCHES "^[0-9a-fA-F]+ [WVu] (.+)$")
      set(_sym "${CMAKE_MATCH_1}")
      if(NOT _sym MATCHES "isa_(baseline|avx2|avx512)" AND NOT _sym STREQUAL "DW.ref.__gxx_personality_v0")
        string(APPEND _bad "\n  ${_obj}: ${_sym}")
      endif()
    endif()
  endforeach()
endforeach()
if(_bad)
  message(FATAL_ERROR "ISA kernel objects define shared inline symbols (use plain arrays/loops in *_cpu.cpp, "
                      "see csrc/core/isa.h):${_bad}")
endif()
