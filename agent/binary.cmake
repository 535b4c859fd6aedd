# The kong-cluster binary: the agent and the client subcommands.
add_subdirectory(${CMAKE_CURRENT_SOURCE_DIR}/http)
add_library(kc_agent STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/agent.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/agent_config.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/advertise.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/node_lookup.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/serf_api.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/datastore_link.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/page_release.cpp
)
target_include_directories(kc_agent PUBLIC ${PROJECT_SOURCE_DIR})
# kc_kube_core (kube/: configuration and a one-shot Beast GET, no cpprestsdk): the agent
# reads its own Node at start-up (agent/node_lookup).
target_link_libraries(kc_agent PUBLIC kc_agent_http kc_events kc_serf kc_rpc kc_datastore kc_gossip
  kc_common kc_kube_core)

add_executable(kong-cluster ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp)
target_link_libraries(kong-cluster PRIVATE kc_agent kc_cli kc_serf_cli CLI11::CLI11)
set_target_properties(kong-cluster PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
# Static OpenSSL/zlib/libyaml, private symbols, optional LTO (cmake/KcFootprint.cmake).
kc_small_executable(kong-cluster)
# The functions an agent runs side by side in the text (cmake/KcFootprint.cmake).
kc_text_order(kong-cluster ${CMAKE_CURRENT_SOURCE_DIR}/text-order.txt)
# build/bin/serf: kong-cluster under serf's name speaks serf's command line (Kong's serf_path).
add_custom_command(TARGET kong-cluster POST_BUILD
  COMMAND ${CMAKE_COMMAND} -E create_symlink kong-cluster ${PROJECT_BINARY_DIR}/bin/serf
  COMMENT "build/bin/serf -> kong-cluster")
