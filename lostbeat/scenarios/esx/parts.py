"""What a VMkernel backtrace is made of: core call chains, worlds, drivers and their vendors.

The generator's own names, written from the shape of public screens (a VMkernel frame is
``Function@vmkernel#nover+0x1f``; a native driver's ``func@(i40en)#<None>+0x45``; a vmklinux
driver's ``func@<module>#<version>+0x12``), not copied from any one screen. Function names
are plausible for their subsystem (BACKGROUND - unverified); the drivers and their vendors are
the common in-box and partner drivers of ESXi 5-8.

Examples:
    >>> DRIVERS["i40en"].vendor, DRIVERS["i40en"].native
    ('Intel', True)
    >>> all(CORE_TAIL)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CORE_CHAINS",
    "CORE_TAIL",
    "DRIVERS",
    "VMWARE_MODULES",
    "WORLDS",
    "Driver",
]


@dataclass(frozen=True, slots=True)
class Driver:
    name: str
    vendor: str
    kind: str
    """``net`` or ``storage``: which core chain calls it."""
    native: bool
    """A native driver (6.5+); otherwise a vmklinux driver (5.x-6.x)."""
    functions: tuple[str, ...]
    version: str
    """The module version a vmklinux frame prints."""
    world: str
    """The world it runs in, as a screen cuts it (12 characters)."""


_NET = "net"
_STORAGE = "storage"

DRIVERS: dict[str, Driver] = {
    d.name: d
    for d in (
        Driver("i40en", "Intel", _NET, True, ("i40en_RxRingPoll", "i40en_TxQueueCleanup",
               "i40en_AdminQueueTask", "i40en_UplinkResetHelper"), "<None>", "HELPER_UPLIN"),
        Driver("ixgben", "Intel", _NET, True, ("ixgben_RxPoll", "ixgben_TxComplete",
               "ixgben_LinkCheckTimer", "ixgben_QueueFilterApply"), "<None>", "NetPollWorld"),
        Driver("igbn", "Intel", _NET, True, ("igbn_RxPoll", "igbn_TxCleanup",
               "igbn_WatchdogTask"), "<None>", "igbn-watchdo"),
        Driver("bnxtnet", "Broadcom", _NET, True, ("bnxtnet_RxComplete", "bnxtnet_HwrmSend",
               "bnxtnet_TxRingFree"), "<None>", "bnxtnet_mgmt"),
        Driver("ntg3", "Broadcom", _NET, True, ("ntg3_RxPoll", "ntg3_TxReclaim"), "<None>",
               "NetPollWorld"),
        Driver("nmlx5_core", "Mellanox", _NET, True, ("nmlx5_EqPoll", "nmlx5_CmdExec",
               "nmlx5_RxQueueFlush"), "<None>", "nmlx5_core_e"),
        Driver("qedentv", "QLogic", _NET, True, ("qedentv_RxPoll", "qedentv_SlowPathTask"),
               "<None>", "qedentv_sp"),
        Driver("elxnet", "Emulex", _NET, True, ("elxnet_RxCompletion", "elxnet_McqProcess",
               "elxnet_RxFragsPost"), "<None>", "HELPER_UPLIN"),
        Driver("lpfc", "Emulex", _STORAGE, True, ("lpfc_SliIssueIocb", "lpfc_ScsiCmdIocbCmpl",
               "lpfc_WorkerThread", "lpfc_NodeRecovery"), "<None>", "lpfc_worker"),
        Driver("qlnativefc", "QLogic", _STORAGE, True, ("qlnativefcIsrHandler",
               "qlnativefcProcessResponseQueue", "qlnativefcTaskMgmt"), "<None>",
               "qlnativefc_d"),
        Driver("nvme_pcie", "VMware", _STORAGE, True, ("NVMEPCIEProcessCq", "NVMEPCIESubmitIo",
               "NVMEPCIEResetController"), "<None>", "nvmeCompletio"),
        Driver("lsi_mr3", "Broadcom", _STORAGE, True, ("mr3_IsrHandler", "mr3_CompleteCmd",
               "mr3_FwFaultHandler"), "<None>", "lsi_mr3_isr"),
        Driver("smartpqi", "Microchip", _STORAGE, True, ("pqi_ProcessIoResponse",
               "pqi_EventWorker"), "<None>", "smartpqi_eve"),
        Driver("be2net", "Emulex", _NET, False, ("be_poll_rx", "be_process_mcc",
               "be_worker_task", "be_cmd_link_status_query"), "4.1.334.0", "NetPollWorld"),
        Driver("igb", "Intel", _NET, False, ("igb_clean_rx_irq", "igb_poll", "igb_watchdog_task"),
               "4.2.16.8", "NetPollWorld"),
        Driver("ixgbe", "Intel", _NET, False, ("ixgbe_clean_tx_irq", "ixgbe_poll",
               "ixgbe_service_task"), "3.21.6", "NetPollWorld"),
        Driver("bnx2x", "Broadcom", _NET, False, ("bnx2x_rx_int", "bnx2x_sp_task",
               "bnx2x_tx_int"), "1.78.80", "bnx2x_sp"),
        Driver("mpt2sas", "LSI", _STORAGE, False, ("_scsih_qcmd", "_base_interrupt",
               "_scsih_io_done"), "15.10.06.00", "mpt2sas_fw"),
        Driver("megaraid_sas", "LSI", _STORAGE, False, ("megasas_isr", "megasas_complete_cmd",
               "megasas_queue_command"), "6.603.55.00", "megasas_isr"),
        Driver("hpsa", "HP", _STORAGE, False, ("hpsa_scsi_queue_command", "do_hpsa_intr",
               "complete_scsi_command"), "5.5.0.84", "hpsa_isr"),
        Driver("qla2xxx", "QLogic", _STORAGE, False, ("qla2x00_process_response_queue",
               "qla24xx_intr_handler", "qla2x00_do_dpc"), "934.5.29.0", "qla2xxx_dpc"),
    )
}  # fmt: skip

# VMware's own modules: not the core, yet not a vendor's driver either
VMWARE_MODULES: dict[str, tuple[str, ...]] = {
    "tcpip4": ("tcp_output", "tcp_do_segment", "in_pcblookup_hash", "sosend_generic",
               "ip_output"),
    "esx": ("Fil3_FileIO", "J3_CommitTxn", "Res3_AllocResources", "FS3_DoIO"),
    "nfsclient": ("NFSVolumeReadWrite", "NFSFileIOAsyncDone", "NFSLockRenewal"),
    "nfs41client": ("NFS41FileDoIO", "NFS41SessionRecover", "NFS41_AsyncIOCallback"),
    "vmkusb": ("usb_process_intr", "xhci_interrupt_poll", "ehci_done_handler"),
    "dvfilter": ("DVFilterDispatchFrame", "DVFilterFastPathProcess"),
}  # fmt: skip

# core call chains, innermost first, by what runs them (BACKGROUND - plausible names)
CORE_CHAINS: dict[str, tuple[str, ...]] = {
    "net": ("PktList_CompleteAll", "Net_PollRxQueue", "NetPollWorldCallback",
            "NetPollWorldletCB", "WorldletProcessQueue", "WorldletBHHandler", "BH_DrainAndDisableInterrupts"),  # noqa: E501
    "storage": ("SCSICompleteDeviceCommand", "ScsiDeviceIODone", "SCSIAsyncDeviceIODone",
                "IOChainDispatch", "AsyncPopCallbackFrameInt", "HelperQueueFunc"),
    "memory": ("MemMap_AllocPageRange", "VmMemPfLockPages", "VmMemPf_GetPageFrame",
               "VmMemCow_PageFault", "VMMVMKCall_Call", "VMKVMM_ArchEnterVMKernel"),
    "sched": ("CpuSchedTryBusyWait", "CpuSchedDispatch", "CpuSchedWait", "CpuSched_Wait",
              "Timer_BHHandler", "BH_Check"),
    "lock": ("MCSLockWaitSpin", "MCS_LockWait", "SP_WaitLockIRQ", "SPLockIRQWork",
             "Timer_AddTC", "Timer_Add"),
    "user": ("UserObj_FDRead", "UserFile_Read", "LinuxFileDesc_Read", "User_LinuxSyscallHandler",
             "User_LinuxSyscallHandler64", "gate_entry"),
    "heap": ("HeapMoreCore", "Heap_AlignWithTimeoutAndRA", "Heap_AllocWithRA",
             "Portset_AllocPortData", "PortsetConnect", "Net_ConnectUplink"),
    "fs": ("FSS_BeginIO", "FDS_AsyncIO", "DevFSFileIO", "FSSVec_FileIO", "FSS_AsyncFileIO",
           "HelperQueueFunc"),
}  # fmt: skip
CORE_TAIL = ("CpuSched_StartWorld", "HelperQueueFunc", "WorldletProcessQueue", "BH_Check")

WORLDS: dict[str, tuple[str, ...]] = {
    "net": ("NetWorld-VM-", "vmnic0-pollW", "vmnic3-pollW", "NetPollWorld", "HELPER_UPLIN"),
    "storage": ("HELPER_SCSI", "storageRM", "helper26-0", "fdsAIO", "Cmpl-vmhba2-"),
    "memory": ("vmx-vcpu-0:", "vmm0:app01", "vmm1:sql02", "vmast.61712", "vmx"),
    "sched": ("idle7", "idle12", "helper14-3", "SVGA-poll"),
    "lock": ("hostd-worker", "vpxa-worker", "vmsyslogd", "helper1-0"),
    "user": ("hostd-worker", "vpxa-worker", "sfcb-CIMXML", "rhttpproxy", "python"),
    "heap": ("hostd-worker", "NetWorld-VM-", "tq:vmkeventd"),
    "fs": ("fdsAIO", "HELPER_MISC_", "vmx-vthread", "Res6HelperQu"),
}
