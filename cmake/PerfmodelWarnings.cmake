# Warning flags for perfmodel's own targets; not exported, never forced on consumers.
add_library(perfmodel_warnings INTERFACE)
target_compile_options(perfmodel_warnings INTERFACE
    $<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
      -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion>
    $<$<AND:$<BOOL:${PERFMODEL_WERROR}>,$<BOOL:${PROJECT_IS_TOP_LEVEL}>>:-Werror>)

# Applies the warning flags to one of perfmodel's own targets (keeps them out of the export set).
function(perfmodel_warnings target)
  target_compile_options(${target} PRIVATE $<TARGET_PROPERTY:perfmodel_warnings,INTERFACE_COMPILE_OPTIONS>)
endfunction()
