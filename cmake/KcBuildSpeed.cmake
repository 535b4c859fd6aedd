# Settings that only make the build faster on a 2-core machine; the code built is the same.
#
# The linker: mold when it is installed (hack/deps.sh installs it). The tree links about a hundred
# test executables against the same static libraries; mold links each in a fraction of ld.bfd's
# time. KC_LINKER=system keeps the toolchain's default.
include_guard(GLOBAL)

set(KC_LINKER "auto" CACHE STRING "auto (mold when installed), mold or system")
set_property(CACHE KC_LINKER PROPERTY STRINGS auto mold system)
if(KC_LINKER STREQUAL "auto")
  find_program(KC_MOLD_PROGRAM mold)
  if(KC_MOLD_PROGRAM)
    set(kc_linker mold)
  endif()
elseif(KC_LINKER STREQUAL "mold")
  set(kc_linker mold)
elseif(NOT KC_LINKER STREQUAL "system")
  message(FATAL_ERROR "KC_LINKER must be auto, mold or system, not '${KC_LINKER}'")
endif()
if(kc_linker)
  add_link_options(-fuse-ld=${kc_linker})
endif()
message(STATUS "kong-cluster: linker ${KC_LINKER} -> ${kc_linker}")
