# npm_ci.cmake: installs the locked npm packages of SRC (here: ajv and the FHIR
# R4 JSON schema; tests/openapi uses it too) into DST with `npm ci`, once per
# lockfile: a stamp holding the lockfile's hash skips the install when nothing
# changed.
#   cmake -DSRC=tests/fhir -DDST=<build>/fhir-schema -DNPM=npm -P npm_ci.cmake
file(MAKE_DIRECTORY ${DST})
file(SHA256 ${SRC}/package-lock.json lock_hash)
set(stamp ${DST}/node_modules/.vigil-lock-sha256)
if(EXISTS ${stamp})
  file(READ ${stamp} installed)
  if(installed STREQUAL lock_hash)
    message(STATUS "${DST}: node_modules matches package-lock.json")
    return()
  endif()
endif()
configure_file(${SRC}/package.json ${DST}/package.json COPYONLY)
configure_file(${SRC}/package-lock.json ${DST}/package-lock.json COPYONLY)
execute_process(COMMAND ${NPM} ci --no-audit --no-fund --ignore-scripts WORKING_DIRECTORY ${DST} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci failed in ${DST} (${rc})")
endif()
file(WRITE ${stamp} ${lock_hash})
