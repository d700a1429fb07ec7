# Install layout (issue 6), shared by `cmake --install` and rpm/rbdtier.spec:
#   handler_rbdtier.so  -> RBDTIER_HANDLER_DIR (tcmu-runner's handler dir; rule in handler/)
#   rbdtier (CLI)       -> bin (rule in cli/)
#   rbdtier.conf        -> <sysconfdir>/ceph
#   logrotate snippet   -> <sysconfdir>/logrotate.d/rbdtier
#   systemd drop-in     -> lib/systemd/system/tcmu-runner.service.d/rbdtier.conf
#   notes               -> doc/rbdtier
set(RBDTIER_SYSTEMD_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system CACHE PATH
    "Where systemd unit drop-ins go")
install(FILES ${CMAKE_SOURCE_DIR}/conf/rbdtier.conf DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ceph)
install(FILES ${CMAKE_SOURCE_DIR}/conf/logrotate.rbdtier DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/logrotate.d
        RENAME rbdtier)
install(FILES ${CMAKE_SOURCE_DIR}/conf/tcmu-runner-rbdtier.conf
        DESTINATION ${RBDTIER_SYSTEMD_DIR}/tcmu-runner.service.d RENAME rbdtier.conf)
install(FILES ${CMAKE_SOURCE_DIR}/conf/tcmu.conf.note ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
