# vigil_room(NAME SOURCES ... [USES room ...] [LIBS lib ...]): one folder, one
# static library vigil_NAME (docs/architecture.md). Its .c files and private
# headers sit in the folder; the headers it offers the rooms above sit in its
# include/NAME/; it sees only the include/ of the rooms it names in USES (and
# the public include/vigil/), so a layer break is a compile error.
function(vigil_room name)
  cmake_parse_arguments(R "" "" "SOURCES;USES;LIBS" ${ARGN})
  add_library(vigil_${name} STATIC ${R_SOURCES})
  if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_include_directories(vigil_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  target_include_directories(vigil_${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  list(TRANSFORM R_USES PREPEND vigil_)
  target_link_libraries(vigil_${name} PUBLIC vigil_public ${R_USES} ${R_LIBS})
endfunction()

