# Install layout of the files owned by no single part, shared by `cmake --install`,
# rpm/rbdtier.spec and debian/:
#   handler_rbdtier.so  -> RBDTIER_HANDLER_DIR (tcmu-runner's handler dir; cmake/HandlerDir.cmake)
#   rbdtier (CLI)       -> <bindir> (rule in cli/)
#   rbdtier.conf        -> RBDTIER_CONF_DIR (/etc/ceph: where the handler and the CLI read it;
#                          an existing file is kept)
#   systemd drop-in     -> RBDTIER_SYSTEMD_DIR/tcmu-runner.service.d/rbdtier.conf
#   rbdtier.8 man page  -> <mandir>/man8
#   bash completion     -> RBDTIER_BASH_COMPLETION_DIR/rbdtier
#   Grafana dashboard   -> <datadir>/rbdtier/grafana/rbdtier.json
#   notes, README       -> <docdir>
# No logrotate file: rbdtier logs through tcmu-runner's log, which tcmu-runner's package rotates.
set(RBDTIER_CONF_DIR /etc/ceph CACHE PATH
    "Where rbdtier.conf goes (the handler reads /etc/ceph/rbdtier.conf unless RBDTIER_CONF names another)")
set(RBDTIER_SYSTEMD_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system CACHE PATH
    "Where systemd unit drop-ins go")
set(RBDTIER_BASH_COMPLETION_DIR ${CMAKE_INSTALL_FULL_DATADIR}/bash-completion/completions CACHE PATH
    "Where bash completions go")

# rbdtier.conf: an admin's edited file is never overwritten by a later `cmake --install`
# (file(INSTALL) adds DESTDIR itself; the check for an existing file has to).
install(CODE "
  set(_conf \"\$ENV{DESTDIR}${RBDTIER_CONF_DIR}/rbdtier.conf\")
  if(EXISTS \"\${_conf}\")
    message(STATUS \"Kept: \${_conf}\")
  else()
    file(INSTALL \"${CMAKE_SOURCE_DIR}/conf/rbdtier.conf\" DESTINATION \"${RBDTIER_CONF_DIR}\"
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")
install(FILES ${CMAKE_SOURCE_DIR}/conf/tcmu-runner-rbdtier.conf
        DESTINATION ${RBDTIER_SYSTEMD_DIR}/tcmu-runner.service.d RENAME rbdtier.conf)
install(FILES ${CMAKE_SOURCE_DIR}/doc/rbdtier.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_SOURCE_DIR}/conf/bash-completion.rbdtier DESTINATION ${RBDTIER_BASH_COMPLETION_DIR}
        RENAME rbdtier)
install(FILES ${CMAKE_SOURCE_DIR}/conf/grafana/rbdtier.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/rbdtier/grafana)
install(FILES ${CMAKE_SOURCE_DIR}/conf/tcmu.conf.note ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
