# vigil_room(NAME SOURCES ... [USES room ...] [LIBS lib ...]): one folder, one
# static library vigil_NAME (docs/architecture.md). Its .c files and private
# headers sit in the folder; the headers it offers the rooms above sit in its
# include/NAME/; it sees only the include/ of the rooms it names in USES (and
# the public include/vigil/), so a layer break is a compile error.
#
# Names (docs/architecture.md): a room's global function without a
# declaration before it is an error (-Wmissing-prototypes), as is a global
# variable without one where the compiler can tell (clang's
# -Wmissing-variable-declarations; gcc has it from 14): what is not static is
# declared in a header, so `make lint`'s check of the libraries' symbols
# (scripts/symbol-names) sees every name the build exports. Every room is
# built with -fvisibility=hidden: in libvigil.so only the functions that
# include/vigil/vigil.h marks VIGIL_EXPORT are seen (tests/shared/check.sh).
include(CheckCCompilerFlag)
check_c_compiler_flag(-Wmissing-variable-declarations VIGIL_HAVE_WMISSING_VARIABLE_DECLARATIONS)
set(VIGIL_ROOM_NAME_FLAGS -Wmissing-prototypes -Werror=missing-prototypes)
if(VIGIL_HAVE_WMISSING_VARIABLE_DECLARATIONS)
  list(APPEND VIGIL_ROOM_NAME_FLAGS -Wmissing-variable-declarations -Werror=missing-variable-declarations)
endif()
#
# Types (scripts/type-copies, the ninth review's item 3): which file defines
# each struct, union and enum a room's object holds is read from the
# compiler's debugging information (DWARF), not from the text of the files.
# A compiler leaves out of it the types an object never uses as a variable's
# (one read only through sizeof or offsetof, a copy of another room's to read
# its memory by offsets), so every object of the build keeps them all
# (-fno-eliminate-unused-debug-types: the rooms' objects, their programs' and
# the archives those link). With no debugging information (a build without
# -g) type-copies says so and fails; `make lint`'s build is RelWithDebInfo.
check_c_compiler_flag(-fno-eliminate-unused-debug-types VIGIL_HAVE_KEEP_DEBUG_TYPES)
if(VIGIL_HAVE_KEEP_DEBUG_TYPES)
  add_compile_options(-fno-eliminate-unused-debug-types)
endif()
#
# PUBLIC_GENERATED dir: a folder of headers generated in the build that the
# rooms above may read as they read include/ (core/lang's embedded Lua).
# PUBLIC_API files: what of include/vigil/ the room may read, when not all of
# it (plugins/common: the plugin ABI alone, VIGIL_PLUGIN_ABI_HEADERS).
# LINKS room...: rooms whose functions it calls through the public API
# (include/vigil/vigil.h) without seeing their headers: linked, not included
# ($<LINK_ONLY:...>; export/ and the engine).
#
# Each room's declaration is written to <build>/rooms/NAME.room (name, folder,
# build folder, objects' folder, library, USES, public folders, what of the
# public API it sees), which `make
# lint` reads: scripts/include-rooms checks every file the compiler read for
# a room's objects against it, scripts/symbol-rooms every vigil_ and vigil__
# symbol its library uses. So a -I or -D added to a room's target elsewhere, or a
# symlink, does not move the walls; only this declaration does.
# The declaration `make lint` reads (scripts/include-rooms, symbol-rooms):
# NAME|FOLDER|BUILD FOLDER|OBJECTS' FOLDER|LIBRARY|USES|PUBLIC FOLDERS|PUBLIC API|LINKS.
function(vigil_walls_declare name target uses public api)
  set(links "${ARGV5}")
  list(JOIN uses " " uses)
  list(JOIN public " " public)
  list(JOIN api " " api)
  list(JOIN links " " links)
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/rooms/${name}.room
       CONTENT "${name}|${CMAKE_CURRENT_SOURCE_DIR}|${CMAKE_CURRENT_BINARY_DIR}|${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/${target}.dir|$<TARGET_FILE:${target}>|${uses}|${public}|${api}|${links}\n")
endfunction()

function(vigil_room name)
  cmake_parse_arguments(R "" "" "SOURCES;USES;LIBS;PUBLIC_GENERATED;PUBLIC_API;LINKS" ${ARGN})
  add_library(vigil_${name} STATIC ${R_SOURCES})
  set(public ${R_PUBLIC_GENERATED})
  if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_include_directories(vigil_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
    list(PREPEND public ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  if(R_PUBLIC_GENERATED)
    target_include_directories(vigil_${name} PUBLIC ${R_PUBLIC_GENERATED})
  endif()
  if(NOT R_PUBLIC_API)
    set(R_PUBLIC_API ${CMAKE_SOURCE_DIR}/include/vigil)
  endif()
  vigil_walls_declare(${name} vigil_${name} "${R_USES}" "${public}" "${R_PUBLIC_API}" "${R_LINKS}")
  target_include_directories(vigil_${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(vigil_${name} PRIVATE ${VIGIL_ROOM_NAME_FLAGS})
  # Each room's objects also make libvigil.so (CMakeLists.txt): position
  # independent, every name hidden but what include/vigil/ marks VIGIL_EXPORT.
  set_target_properties(vigil_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  list(TRANSFORM R_USES PREPEND vigil_)
  target_link_libraries(vigil_${name} PUBLIC vigil_public ${R_USES} ${R_LIBS})
  # LINKS: what links this room links those too; the room's own compile sees
  # nothing of them (INTERFACE: CMake before 3.26 gives a PUBLIC
  # $<LINK_ONLY:...>'s include folders to the room's own compile, which put the
  # engine's include/ on export/'s path; scripts/room-plan refuses that).
  foreach(link ${R_LINKS})
    target_link_libraries(vigil_${name} INTERFACE $<LINK_ONLY:vigil_${link}>)
  endforeach()
endfunction()

