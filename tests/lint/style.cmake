# The style lints (label lint), each a script under hack/lint/ that developers run by hand too:
#   lint_format     every tracked C++ file matches .clang-format (clang-format-14)
#   lint_tidy       clang-tidy-14 with .clang-tidy over this build dir's compile_commands.json:
#                   the sources changed since the commit in hack/lint/tidy-base (the last clean
#                   full run) and the includers of changed headers; -DKC_TIDY_BASE=<git ref>
#                   measures from that ref instead (docs/development.md). Registered by default
#                   once a base is recorded.
#   lint_python     flake8 with .flake8 over hack/ and tests/
#   lint_citations  no comment or doc cites an outside spec's sections, issue or point numbers
#   lint_checkers   each checker above fails on a planted defect and passes on clean input, so a
#                   green lint run cannot come from a checker that never fails
set(KC_TIDY_BASE "" CACHE STRING "git ref: lint_tidy checks the sources changed since it (hack/lint/tidy-base when empty)")

add_test(NAME lint_format COMMAND ${PROJECT_SOURCE_DIR}/hack/lint/format.sh --check)
if(KC_TIDY_BASE)
  set(tidy_scope --base ${KC_TIDY_BASE})
endif()
# In the default run once a clean full run is recorded in hack/lint/tidy-base: with nothing
# changed since that base it takes seconds. Until then it is not registered (a skipped test
# fails hack/test.sh); -DKC_TIDY=ON registers it anyway, -DKC_TIDY=OFF leaves it out (a machine
# without clang-tidy-14).
file(STRINGS ${PROJECT_SOURCE_DIR}/hack/lint/tidy-base _tidy_base REGEX "^[0-9a-f]+")
if(_tidy_base)
  set(_tidy_default ON)
else()
  set(_tidy_default OFF)
endif()
option(KC_TIDY "Register lint_tidy (clang-tidy) with ctest" ${_tidy_default})
if(KC_TIDY)
  add_test(NAME lint_tidy COMMAND ${PROJECT_SOURCE_DIR}/hack/lint/tidy.sh --build ${PROJECT_BINARY_DIR}
    --jobs 2 --need-base ${tidy_scope})
endif()
add_test(NAME lint_python COMMAND ${PROJECT_SOURCE_DIR}/hack/lint/python.sh)
add_test(NAME lint_citations COMMAND ${PROJECT_SOURCE_DIR}/hack/lint/citations.sh)
add_test(NAME lint_checkers COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/checkers_test.sh)
set_tests_properties(lint_format lint_python lint_citations lint_checkers PROPERTIES LABELS lint TIMEOUT 300)
# A run from the recorded base takes seconds (nothing changed) to minutes (a header many sources
# include); .clang-tidy changed since the base means every source: up to half an hour on 2 cores.
if(KC_TIDY)
  set_tests_properties(lint_tidy PROPERTIES LABELS lint TIMEOUT 2700 PROCESSORS 2 SKIP_RETURN_CODE 77)
endif()
