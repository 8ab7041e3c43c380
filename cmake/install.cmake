# cmake --install BUILD --prefix PREFIX (docs/hpc.md, "Installing"):
#   PREFIX/bin/cytocon-*                      every program of the build
#   PREFIX/share/cytocon/configs/             paper.toml, demo.toml
#   PREFIX/share/cytocon/scripts/slurm/       the Slurm stage scripts (CYTOCON_HOME=PREFIX/share/cytocon)
#   PREFIX/share/doc/cytocon/                 README.md, docs/, the third-party licences
# The programs keep the run path of the libraries they were linked with (Spack, conda or module
# prefixes), so they start without LD_LIBRARY_PATH.
include(GNUInstallDirs)

# cytocon_programs(<dir> <out>): the cytocon-* executables defined in <dir> and below.
function(cytocon_programs dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  set(found "")
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE" AND t MATCHES "^cytocon-")
      list(APPEND found ${t})
    endif()
  endforeach()
  foreach(d ${subdirs})
    cytocon_programs(${d} more)
    list(APPEND found ${more})
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

cytocon_programs(${PROJECT_SOURCE_DIR} CYTOCON_PROGRAMS)
install(TARGETS ${CYTOCON_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set(CYTOCON_SHARE ${CMAKE_INSTALL_DATADIR}/cytocon)
install(DIRECTORY configs/ DESTINATION ${CYTOCON_SHARE}/configs FILES_MATCHING PATTERN "*.toml")
install(DIRECTORY scripts/slurm/ DESTINATION ${CYTOCON_SHARE}/scripts/slurm USE_SOURCE_PERMISSIONS)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
foreach(lib stb cli11 tomlplusplus nlohmann_json googletest)
  install(FILES third_party/${lib}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR}/third_party/${lib})
endforeach()
install(FILES third_party/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/third_party)
