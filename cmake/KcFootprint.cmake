# Build and link settings that keep the agent's resident memory small.
#
# An executable that sets the target property KC_LINK_STATIC_DEPS to ON links OpenSSL, zlib, RE2 and
# libyaml from Debian's static archives (only the pages it touches become resident, and there
# are no relocation pages to copy); every other executable keeps the shared libraries. The
# operator must: cpprestsdk hands it SSL contexts made by the shared libssl.
#
# The choice is made per executable by a generator expression on the consuming target, so the
# imported targets below are defined before find_package(OpenSSL) and find_package(ZLIB),
# which then leave them alone.
include_guard(GLOBAL)

option(KC_STATIC_DEPS "Let executables with KC_LINK_STATIC_DEPS link OpenSSL/zlib/libyaml statically" ON)
option(KC_LTO "Link-time optimisation for the executables that ask for it (slow on 2 cores)" OFF)
# On by default: with it every function has a section of its own, which KC_TEXT_ORDER places
# (2.2 MiB less VmRSS together, docs/benchmarks.md "Sixth run"); alone it saves little. It
# changes every object file: no compile is shared through ccache with builds made without it.
option(KC_FUNCTION_SECTIONS "Compile with -ffunction-sections -fdata-sections" ON)

set(kc_static_head "$<BOOL:$<TARGET_PROPERTY:KC_LINK_STATIC_DEPS>>")
set(kc_shared_head "$<NOT:${kc_static_head}>")

# kc_dual_library(<imported target> <shared name> <archive name> [deps of the archive...])
function(kc_dual_library target shared_name archive_name)
  if(TARGET ${target})
    message(FATAL_ERROR "${target} already defined: include KcFootprint before find_package")
  endif()
  find_library(KC_${archive_name}_SHARED NAMES ${shared_name} NAMES_PER_DIR)
  find_library(KC_${archive_name}_ARCHIVE NAMES ${archive_name} NAMES_PER_DIR)
  if(NOT KC_${archive_name}_SHARED)
    return()  # find_package reports the missing library as before
  endif()
  add_library(${target} INTERFACE IMPORTED)
  if(KC_STATIC_DEPS AND KC_${archive_name}_ARCHIVE)
    set_property(TARGET ${target} PROPERTY INTERFACE_LINK_LIBRARIES
      "$<${kc_shared_head}:${KC_${archive_name}_SHARED}>"
      "$<${kc_static_head}:${KC_${archive_name}_ARCHIVE}>")
    foreach(dep ${ARGN})
      set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_LIBRARIES "$<${kc_static_head}:${dep}>")
    endforeach()
  else()
    set_property(TARGET ${target} PROPERTY INTERFACE_LINK_LIBRARIES ${KC_${archive_name}_SHARED})
  endif()
endfunction()

find_package(Threads REQUIRED)
kc_dual_library(OpenSSL::Crypto libcrypto.so libcrypto.a Threads::Threads ${CMAKE_DL_LIBS})
# libssl.a needs libcrypto.a after it on the link line, wherever else libcrypto.a appears.
kc_dual_library(OpenSSL::SSL libssl.so libssl.a ${KC_libcrypto.a_ARCHIVE})
if(TARGET OpenSSL::SSL)
  set_property(TARGET OpenSSL::SSL APPEND PROPERTY INTERFACE_LINK_LIBRARIES OpenSSL::Crypto)
endif()
kc_dual_library(ZLIB::ZLIB libz.so libz.a)
# RE2 (common/go_regexp.cpp) has no CMake package in Debian: this is its only definition.
kc_dual_library(re2::re2 libre2.so libre2.a Threads::Threads)
# Boost.System is header-only since 1.69: the library is a stub both variants of which carry one
# dummy function. Defined here as Boost's own config would (it keeps a target defined before it),
# so the fully static agent gets the archive: gold refuses a shared object in a -static link.
kc_dual_library(Boost::system libboost_system.so libboost_system.a)
if(TARGET Boost::system)
  set_property(TARGET Boost::system APPEND PROPERTY INTERFACE_LINK_LIBRARIES Boost::headers)
  set_property(TARGET Boost::system PROPERTY INTERFACE_COMPILE_DEFINITIONS BOOST_SYSTEM_DYN_LINK)
endif()
# operator/CMakeLists.txt looks libyaml up with find_library(KC_YAML_LIBRARY yaml): answer first.
find_library(KC_YAML_SHARED NAMES libyaml.so yaml)
find_library(KC_YAML_ARCHIVE NAMES libyaml.a)
if(KC_STATIC_DEPS AND KC_YAML_SHARED AND KC_YAML_ARCHIVE)
  set(KC_YAML_LIBRARY "$<${kc_shared_head}:${KC_YAML_SHARED}>;$<${kc_static_head}:${KC_YAML_ARCHIVE}>")
endif()

# The agent binary fully static (glibc too): no shared library, no dynamic loader, nothing mapped
# but the binary itself, whose untouched pages never become resident. Possible since nothing in
# it loads a library at run time (the Postgres client speaks the protocol itself). Name lookups
# still work in an image without glibc's shared libraries: glibc 2.36 builds its files and dns
# NSS modules into a static binary (getaddrinfo of /etc/hosts names and DNS names checked in a
# container made of nothing but such a binary).
option(KC_STATIC_AGENT "Link the kong-cluster binary fully statically (-static)" ON)

# One section per function and object, so the agent's link can drop what nothing refers to.
if(KC_FUNCTION_SECTIONS)
  add_compile_options(-ffunction-sections -fdata-sections)
endif()

# The agent's executed functions side by side in its text. The kernel maps a file's pages around
# every fault (fault-around, 64 KiB), so executed code scattered over ~10 MB of text makes most of
# it resident although the agent runs ~1 MB of it. agent/text-order.txt (hack/text_order.py
# regenerates it from callgrind) lists those functions; lld places the sections that define them
# first. lld because it orders by symbol: glibc's libc.a has one `.text` per object, which a
# section-name order (gold's) cannot tell apart, and mold 1.10 has no ordering option. A
# function is orderable when it has a section of its own: templates, inline functions, each
# libc object's; the project's own functions with KC_FUNCTION_SECTIONS. A stale entry names no
# symbol: harmless (--no-warn-symbol-ordering).
option(KC_TEXT_ORDER "Link kong-cluster with lld, its executed functions first (agent/text-order.txt)" ON)

# kc_text_order(<target> <ordering file>)
function(kc_text_order target order_file)
  if(NOT KC_TEXT_ORDER)
    return()
  endif()
  find_program(KC_LLD_PROGRAM ld.lld)
  if(NOT KC_LLD_PROGRAM)
    message(WARNING "KC_TEXT_ORDER: no ld.lld (Debian package lld); ${target} keeps the default text layout")
    return()
  endif()
  # After the global -fuse-ld (cmake/KcBuildSpeed.cmake): the last one wins.
  target_link_options(${target} PRIVATE -fuse-ld=lld LINKER:--symbol-ordering-file=${order_file}
    LINKER:--no-warn-symbol-ordering)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${order_file})
endfunction()

# kc_small_executable(<target>): the agent binary's footprint settings, the C++ runtime
# (libstdc++, libgcc) linked statically among them.
function(kc_small_executable target)
  set_target_properties(${target} PROPERTIES KC_LINK_STATIC_DEPS ON)
  # Symbols of the static archives stay private: a library loaded later with its own libssl
  # (an NSS module, say) must bind to its own copy, never to the agent's.
  target_link_options(${target} PRIVATE LINKER:--exclude-libs,ALL
    # Dead code and data out; no shared library that nothing calls into.
    LINKER:--gc-sections LINKER:-O1 LINKER:--as-needed
    # A fixed load address: the static archives' pointer tables need no relocation at start,
    # so their pages stay shared file pages instead of private copies (anonymous memory).
    -no-pie
    # The C++ runtime inside the binary too: only the pages of libstdc++ and libgcc the agent
    # touches become resident, instead of the shared libraries' 1.6 MiB. Safe because no
    # shared C++ library is linked any more (spdlog and fmt: common/spdlog_runtime.cpp; the
    # metrics: common/metrics), so there is one copy of the runtime.
    -static-libstdc++ -static-libgcc)
  if(KC_STATIC_AGENT AND KC_STATIC_DEPS)
    target_link_options(${target} PRIVATE -static)
  endif()
  if(KC_LTO)
    set_target_properties(${target} PROPERTIES INTERPROCEDURAL_OPTIMIZATION ON)
  endif()
endfunction()
