# kc_test(NAME n SOURCES a.cpp... LIBS l... LABELS unit|interop|sim|... [TIMEOUT s])
# Registers one GoogleTest binary with CTest; each test binary is one ctest entry so
# labels select whole suites (ctest -L unit).
function(kc_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  # A GTEST_SKIP exits 0; without the regular expression ctest would report it as Passed.
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
    ENVIRONMENT "KC_SOURCE_DIR=${PROJECT_SOURCE_DIR};KC_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# kc_test_dir(PREFIX p LIBS l... LABELS ...): one test binary per *_test.cpp in this folder,
# named <PREFIX>_<file stem>.
function(kc_test_dir)
  cmake_parse_arguments(T "" "PREFIX;TIMEOUT" "LIBS;LABELS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  foreach(src ${tests})
    get_filename_component(stem ${src} NAME_WE)
    kc_test(NAME ${T_PREFIX}_${stem} SOURCES ${src} LIBS ${T_LIBS} LABELS ${T_LABELS} TIMEOUT ${T_TIMEOUT})
  endforeach()
endfunction()
