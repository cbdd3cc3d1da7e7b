# Installs perfmodel from BUILD_DIR into a scratch prefix, then builds and runs the consumer in
# SOURCE_DIR twice: once against the install tree, once against the build tree.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

foreach(kind install build)
  if(kind STREQUAL "install")
    set(hint "-DCMAKE_PREFIX_PATH=${prefix}")
  else()
    set(hint "-Dlibperfmodel_DIR=${BUILD_DIR}")
  endif()
  set(bin "${WORK_DIR}/consumer-${kind}")
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${bin}" -G "${GENERATOR}"
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release ${hint})
  run(${CMAKE_COMMAND} --build "${bin}")
  run("${bin}/consumer")
  message(STATUS "consumer (${kind} tree) printed: ${last_output}")
  if(NOT last_output MATCHES "perfmodel [0-9]+\\.[0-9]+\\.[0-9]+")
    message(FATAL_ERROR "consumer output unexpected: ${last_output}")
  endif()
endforeach()
