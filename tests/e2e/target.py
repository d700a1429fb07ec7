#!/usr/bin/env python3
# tests/e2e/target.py: configures the guest's LIO iSCSI target with rtslib-fb in one process (one
# targetcli call per step costs seconds under emulation). Contract:
#   target.py export SUBTYPE SO_NAME IQN [INITIATOR...]
#                                         export the existing user:SUBTYPE storage object SO_NAME as
#                                         LUN 0 of target IQN, portal 127.0.0.1:3260, no auth; to
#                                         any initiator (demo mode, writable) without INITIATORs,
#                                         else to those only (an ACL each, mapping LUN 0)
#   target.py clear                       remove every target and storage object
#   target.py create SUBTYPE SO_NAME SIZE CFGSTRING
#                                         create a user:SUBTYPE storage object whose cfgstring
#                                         targetcli cannot pass (rtslib refuses ':', the kernel's
#                                         control file splits at ','): the whole string goes to
#                                         attrib/dev_config, which takes it verbatim
# Exits non-zero with a message on stderr when a step fails.
import sys

from rtslib_fb import LUN, TPG, FabricModule, MappedLUN, NetworkPortal, NodeACL, RTSRoot, Target
from rtslib_fb import tcm
from rtslib_fb.utils import fwrite


class VerbatimUserStorageObject(tcm.UserBackedStorageObject):
    """A user-backed storage object configured through attrib/dev_config instead of control."""

    def _configure(self, config, size, wwn, hw_max_sectors, control):
        self._check_self()
        self._control("dev_size=%d" % size)
        fwrite("%s/attrib/dev_config" % self.path, config)  # no newline: taken verbatim
        self._enable()
        tcm.StorageObject._configure(self, wwn)


# rtslib finds a storage object's backstore by its class.
tcm.bs_params[VerbatimUserStorageObject] = tcm.bs_params[tcm.UserBackedStorageObject]


def create(subtype, so_name, size, cfgstring):
    VerbatimUserStorageObject(so_name, config=f"{subtype}/{cfgstring}", size=int(size))


def export(subtype, so_name, iqn, *initiators):
    root = RTSRoot()
    so = next((s for s in root.storage_objects
               if s.plugin == "user" and s.name == so_name
               and (s.config or "").startswith(subtype + "/")), None)
    if so is None:
        sys.exit(f"no user:{subtype} storage object named {so_name}")
    target = Target(FabricModule("iscsi"), iqn, mode="create")
    tpg = TPG(target, 1, mode="create")
    tpg.set_attribute("authentication", "0")
    if initiators:
        tpg.set_attribute("generate_node_acls", "0")
    else:
        tpg.set_attribute("generate_node_acls", "1")
        tpg.set_attribute("demo_mode_write_protect", "0")
        tpg.set_attribute("cache_dynamic_acls", "1")
    lun = LUN(tpg, 0, so)
    for initiator in initiators:
        MappedLUN(NodeACL(tpg, initiator, mode="create"), 0, lun, write_protect=False)
    NetworkPortal(tpg, "127.0.0.1", 3260, mode="create")
    tpg.enable = True


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "export":
        export(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "create":
        create(*sys.argv[2:])
    elif len(sys.argv) == 2 and sys.argv[1] == "clear":
        RTSRoot().clear_existing(confirm=True)
    else:
        sys.exit(__doc__ or "usage: target.py export SUBTYPE SO_NAME IQN | create ... | clear")


if __name__ == "__main__":
    main()
