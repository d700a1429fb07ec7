// tcmu_abi.h — our own C++ declaration of the tcmu-runner 1.5.4 handler-plugin ABI.
//
// Contract: every type, field order, enum value and function signature here matches
// tcmu-runner v1.5.4 (tcmu-runner.h, tcmur_device.h, tcmur_aio.h, libtcmu_common.h,
// libtcmu.h, libtcmu_log.h) on x86_64/LP64, so that a plugin built on this header is
// loadable by the real /usr/bin/tcmu-runner and by our test harness (tests/harness/),
// and so that the harness can load Debian's stock handler_rbd.so. Upstream headers are
// not usable from C++ (a parameter named `private`, min/max macros, ccan), hence this.
// Layouts are checked with static_asserts (verified against the relocations and field
// accesses of Debian's handler_rbd.so 1.5.4-4.1). Functions are provided at run time by
// the host process (tcmu-runner + libtcmu, or the harness executable): a plugin must not
// link any library for them.
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <ctime>

extern "C" {

struct tcmu_device;      // opaque to handlers (libtcmu's per-device struct)
struct tcmulib_handler;  // libtcmu's handler (not used by tcmur plugins)
struct tcmur_work;       // runner-private

// ---------------------------------------------------------------------------------
// Status codes a callout returns or passes to tcmur_cmd_complete (libtcmu_common.h).
enum {
    TCMU_STS_ASYNC_HANDLED = -2,            // handle_cmd only: queued, will complete later
    TCMU_STS_NOT_HANDLED = -1,              // opcode not handled (ILLEGAL REQUEST 0x2000)
    TCMU_STS_OK = 0,                        // success / command queued by an async callout
    TCMU_STS_NO_RESOURCE = 1,               // TASK SET FULL
    TCMU_STS_PASSTHROUGH_ERR = 2,           // handler has set up the sense buffer itself
    TCMU_STS_BUSY = 3,                      // BUSY
    TCMU_STS_WR_ERR = 4,                    // MEDIUM ERROR, write error 0x0C00
    TCMU_STS_RD_ERR = 5,                    // MEDIUM ERROR, unrecovered read error 0x1100
    TCMU_STS_MISCOMPARE = 6,                // MISCOMPARE 0x1D00 (info field kept if set)
    TCMU_STS_INVALID_CMD = 7,               // ILLEGAL REQUEST, invalid opcode 0x2000
    TCMU_STS_INVALID_CDB = 8,               // ILLEGAL REQUEST, invalid field in CDB 0x2400
    TCMU_STS_INVALID_PARAM_LIST = 9,        // ILLEGAL REQUEST 0x2600
    TCMU_STS_INVALID_PARAM_LIST_LEN = 10,   // ILLEGAL REQUEST 0x1A00
    TCMU_STS_TIMEOUT = 11,                  // BUSY
    TCMU_STS_FENCED = 12,                   // NOT READY 0x040B (ALUA standby)
    TCMU_STS_HW_ERR = 13,                   // HARDWARE ERROR 0x4400
    TCMU_STS_RANGE = 14,                    // ILLEGAL REQUEST, LBA out of range 0x2100
    TCMU_STS_FRMT_IN_PROGRESS = 15,         // NOT READY 0x0404
    TCMU_STS_CAPACITY_CHANGED = 16,         // UNIT ATTENTION 0x2A09
    TCMU_STS_NOTSUPP_SAVE_PARAMS = 17,      // ILLEGAL REQUEST 0x3900
    TCMU_STS_WR_ERR_INCOMPAT_FRMT = 18,     // ILLEGAL REQUEST 0x3005
    TCMU_STS_TRANSITION = 19,               // NOT READY 0x040A (ALUA transition)
    TCMU_STS_IMPL_TRANSITION_ERR = 20,      // UNIT ATTENTION 0x2A07
    TCMU_STS_EXPL_TRANSITION_ERR = 21,      // HARDWARE ERROR 0x670A
    TCMU_STS_NO_LOCK_HOLDERS = 22,          // get_lock_tag: nobody holds the lock
    TCMU_STS_NOTSUPP_SEG_DESC_TYPE = 23,    // xcopy, ILLEGAL REQUEST 0x2609
    TCMU_STS_NOTSUPP_TGT_DESC_TYPE = 24,    // xcopy, ILLEGAL REQUEST 0x2607
    TCMU_STS_CP_TGT_DEV_NOTCONN = 25,       // xcopy, COPY ABORTED 0x0D02
    TCMU_STS_INVALID_CP_TGT_DEV_TYPE = 26,  // xcopy, COPY ABORTED 0x0D03
    TCMU_STS_TOO_MANY_SEG_DESC = 27,        // xcopy, ILLEGAL REQUEST 0x2608
    TCMU_STS_TOO_MANY_TGT_DESC = 28,        // xcopy, ILLEGAL REQUEST 0x2606
};

// Size of the sense buffer in tcmulib_cmd (libtcmu_common.h).
enum { SENSE_BUFFERSIZE = 96 };
// Tag meaning "no tag" for lock/get_lock_tag (USHRT_MAX).
enum { TCMU_INVALID_LOCK_TAG = 0xFFFF };

// Values get_lock_state must return; also tcmur_device::lock_state (tcmur_device.h).
enum tcmur_lock_state {
    TCMUR_DEV_LOCK_UNKNOWN = 0,
    TCMUR_DEV_LOCK_UNLOCKED = 1,
    TCMUR_DEV_LOCK_READ_LOCKING = 2,
    TCMUR_DEV_LOCK_READ_LOCKED = 3,
    TCMUR_DEV_LOCK_WRITE_LOCKING = 4,
    TCMUR_DEV_LOCK_WRITE_LOCKED = 5,
};

// tcmur_device::failover_type (tcmur_device.h).
enum {
    TCMUR_DEV_FAILOVER_ALL_ACTIVE = 0,
    TCMUR_DEV_FAILOVER_IMPLICIT = 1,
    TCMUR_DEV_FAILOVER_EXPLICIT = 2,
};

// tcmur_device::flags bits (tcmur_device.h).
enum {
    TCMUR_DEV_FLAG_FORMATTING = 1 << 0,
    TCMUR_DEV_FLAG_IN_RECOVERY = 1 << 1,
    TCMUR_DEV_FLAG_IS_OPEN = 1 << 2,
    TCMUR_DEV_FLAG_STOPPING = 1 << 3,
    TCMUR_DEV_FLAG_STOPPED = 1 << 4,
};

// Events reported to the handler's report_event (tcmu-runner.h).
enum tcmur_event {
    TCMUR_EVT_LOCK_LOST,
    TCMUR_EVT_CONN_LOST,
    TCMUR_EVT_CMD_TIMED_OUT,
};

// What reconfig is asked to change (libtcmu.h).
enum tcmulib_cfg_type {
    TCMULIB_CFG_DEV_CFGSTR,
    TCMULIB_CFG_DEV_SIZE,
    TCMULIB_CFG_WRITE_CACHE,
};

// Argument of the reconfig callout (libtcmu.h).
struct tcmulib_cfg_info {
    enum tcmulib_cfg_type type;
    union {
        uint64_t dev_size;
        char* dev_cfgstring;
        bool write_cache;
    } data;
};

// ccan/list nodes embedded in runner structs (layout only; handlers never walk them).
struct tcmu_abi_list_node {
    struct tcmu_abi_list_node* next;
    struct tcmu_abi_list_node* prev;
};
struct tcmu_abi_list_head {
    struct tcmu_abi_list_node n;
};

// The command as libtcmu got it from the kernel ring (libtcmu_common.h). Handlers may
// write sense_buf (e.g. tcmu_sense_set_info for a CAW miscompare offset).
struct tcmulib_cmd {
    uint16_t cmd_id;
    uint8_t* cdb;
    struct iovec* iovec;
    size_t iov_cnt;
    uint8_t sense_buf[SENSE_BUFFERSIZE];
    void* hm_private;
};

// The runner's per-command state, what callouts receive (tcmu-runner.h). Handlers pass
// it back, unchanged, to tcmur_cmd_complete(dev, cmd, sts).
struct tcmur_cmd {
    struct tcmulib_cmd* lib_cmd;  // the ring command (cdb, sense_buf)
    struct iovec* iovec;          // used by compound commands (CAW, writesame, ...)
    size_t iov_cnt;
    void* iov_base_copy;  // original iov_base for handlers that move it
    void* cmd_state;      // runner's state of a compound command
    size_t requested;     // bytes to read/write from iovec
    struct tcmu_abi_list_node cmds_list_entry;
    struct timespec start_time;
    bool timed_out;
    // called by tcmur_cmd_complete to finish/continue the command
    void (*done)(struct tcmu_device* dev, struct tcmur_cmd* cmd, int ret);
};

// The plugin's vtable (tcmu-runner.h); a plugin registers one from handler_init().
// All callouts are optional except open/close/read/write in practice. I/O callouts
// return TCMU_STS_OK when queued and later call tcmur_cmd_complete, or a failure code.
struct tcmur_handler {
    const char* name;      // human-friendly name
    const char* subtype;   // cfgstring prefix, backstore "user:<subtype>"
    const char* cfg_desc;  // description of the cfgstring
    void* opaque;          // handler private data
    // true if cfgstring is usable; else *reason = malloc'ed text (runner frees it)
    bool (*check_config)(const char* cfgstring, char** reason);
    int (*reconfig)(struct tcmu_device* dev, struct tcmulib_cfg_info* cfg);
    int (*open)(struct tcmu_device* dev, bool reopen);  // 0 or -errno
    void (*close)(struct tcmu_device* dev);
    // >0: runner calls I/O callouts from that many threads; 0: from its own thread
    int nr_threads;
    // passthrough handlers only (TCMU_STS_NOT_HANDLED to fall back to generic code)
    int (*handle_cmd)(struct tcmu_device* dev, struct tcmur_cmd* cmd);
    int (*read)(struct tcmu_device* dev, struct tcmur_cmd* cmd, struct iovec* iovec, size_t iov_cnt,
                size_t len, off_t off);
    int (*write)(struct tcmu_device* dev, struct tcmur_cmd* cmd, struct iovec* iovec,
                 size_t iov_cnt, size_t len, off_t off);
    int (*flush)(struct tcmu_device* dev, struct tcmur_cmd* cmd);
    // byte range [off, off+len) to discard
    int (*unmap)(struct tcmu_device* dev, struct tcmur_cmd* cmd, uint64_t off, uint64_t len);
    // write the pattern in iovec (one block) over [off, off+len)
    int (*writesame)(struct tcmu_device* dev, struct tcmur_cmd* cmd, uint64_t off, uint64_t len,
                     struct iovec* iovec, size_t iov_cnt);
    // iovec holds len bytes to compare then len bytes to write; on mismatch complete
    // with TCMU_STS_MISCOMPARE after tcmu_sense_set_info(lib_cmd->sense_buf, offset)
    int (*caw)(struct tcmu_device* dev, struct tcmur_cmd* cmd, uint64_t off, uint64_t len,
               struct iovec* iovec, size_t iov_cnt);
    int (*report_event)(struct tcmu_device* dev);                 // 0 or -errno
    int (*lock)(struct tcmu_device* dev, uint16_t tag);           // TCMU_STS_*
    int (*unlock)(struct tcmu_device* dev);                       // TCMU_STS_*
    int (*get_lock_tag)(struct tcmu_device* dev, uint16_t* tag);  // TCMU_STS_*
    int (*get_lock_state)(struct tcmu_device* dev);               // enum tcmur_lock_state
    bool _is_dbus_handler;                                        // runner-internal
    bool (*update_logdir)(void);
    int (*init)(void);      // global init, called once after registration
    void (*destroy)(void);  // global teardown
};

// Runner-private queues embedded in tcmur_device (tcmur_aio.h); layout only.
struct tcmu_track_aio {
    unsigned int pending_wakeups;
    unsigned int tracked_aio_ops;
    pthread_mutex_t track_lock;
    pthread_cond_t* is_empty_cond;
};
struct tcmu_io_queue {
    pthread_mutex_t io_lock;
    pthread_cond_t io_cond;
    pthread_t* io_wq_threads;
    struct tcmu_abi_list_head io_queue;
};

// The runner's per-device struct (tcmur_device.h). tcmu_dev_get_private(dev) returns a
// pointer to it inside tcmu-runner; Debian's handler_rbd.so reads lock_state and the
// *_cnt counters directly. Plugins of ours must use tcmur_dev_get_private instead.
struct tcmur_device {
    struct tcmu_device* dev;
    void* hm_private;  // what tcmur_dev_set_private stored
    pthread_t cmdproc_thread;
    uint32_t flags;  // TCMUR_DEV_FLAG_*
    uint8_t failover_type;
    struct tcmu_abi_list_node recovery_entry;
    uint64_t lock_lost_cnt;
    uint64_t conn_lost_cnt;
    uint64_t cmd_timed_out_cnt;
    struct tcmur_work* event_work;
    bool lock_lost;
    uint8_t lock_state;  // enum tcmur_lock_state
    pthread_mutex_t state_lock;
    int pending_uas;
    struct tcmu_io_queue work_queue;
    struct tcmu_track_aio track_queue;
    pthread_spinlock_t lock;
    pthread_mutex_t caw_lock;
    uint32_t format_progress;
    pthread_mutex_t format_lock;
    int cmd_time_out;
    struct tcmu_abi_list_head cmds_list;
};

// ---------------------------------------------------------------------------------
// Functions the host exports to plugins.

// Registration (tcmu-runner.h). A plugin exports `int handler_init(void)` that calls
// tcmur_register_handler(&its_handler) and returns its result (0 = ok).
int tcmur_register_handler(struct tcmur_handler* handler);
bool tcmur_unregister_handler(struct tcmur_handler* handler);
// Complete a command queued by a callout; data is the struct tcmur_cmd *.
void tcmur_cmd_complete(struct tcmu_device* dev, void* data, int rc);
// Handler-private pointer of a device (use these, not tcmu_dev_*_private).
void tcmur_dev_set_private(struct tcmu_device* dev, void* priv);
void* tcmur_dev_get_private(struct tcmu_device* dev);
// Tell the runner the device size changed (tcmur_cmd_handler.h); 0 or -errno.
int tcmur_dev_update_size(struct tcmu_device* dev, uint64_t new_size);
// Event notifications (tcmur_device.h): bump counters, trigger recovery/report_event.
void tcmu_notify_conn_lost(struct tcmu_device* dev);
void tcmu_notify_lock_lost(struct tcmu_device* dev);
void tcmu_notify_cmd_timed_out(struct tcmu_device* dev);

// Device attributes (libtcmu_common.h). tcmu_dev_get_private returns the runner's
// struct tcmur_device *, not the plugin's pointer.
void* tcmu_dev_get_private(struct tcmu_device* dev);
void tcmu_dev_set_private(struct tcmu_device* dev, void* priv);
const char* tcmu_dev_get_uio_name(struct tcmu_device* dev);
char* tcmu_dev_get_cfgstring(struct tcmu_device* dev);  // "<subtype>/<handler cfg>"
void tcmu_dev_set_num_lbas(struct tcmu_device* dev, uint64_t num_lbas);
uint64_t tcmu_dev_get_num_lbas(struct tcmu_device* dev);
void tcmu_dev_set_block_size(struct tcmu_device* dev, uint32_t block_size);
uint32_t tcmu_dev_get_block_size(struct tcmu_device* dev);
uint64_t tcmu_lba_to_byte(struct tcmu_device* dev, uint64_t lba);
uint64_t tcmu_byte_to_lba(struct tcmu_device* dev, uint64_t byte);
void tcmu_dev_set_max_xfer_len(struct tcmu_device* dev, uint32_t len);  // in blocks
uint32_t tcmu_dev_get_max_xfer_len(struct tcmu_device* dev);
void tcmu_dev_set_opt_xcopy_rw_len(struct tcmu_device* dev, uint32_t len);
uint32_t tcmu_dev_get_opt_xcopy_rw_len(struct tcmu_device* dev);
void tcmu_dev_set_max_unmap_len(struct tcmu_device* dev, uint32_t len);  // in blocks
uint32_t tcmu_dev_get_max_unmap_len(struct tcmu_device* dev);
void tcmu_dev_set_opt_unmap_gran(struct tcmu_device* dev, uint32_t len, bool split);
uint32_t tcmu_dev_get_opt_unmap_gran(struct tcmu_device* dev);
void tcmu_dev_set_unmap_gran_align(struct tcmu_device* dev, uint32_t len);
uint32_t tcmu_dev_get_unmap_gran_align(struct tcmu_device* dev);
void tcmu_dev_set_write_cache_enabled(struct tcmu_device* dev, bool enabled);
bool tcmu_dev_get_write_cache_enabled(struct tcmu_device* dev);
void tcmu_dev_set_solid_state_media(struct tcmu_device* dev, bool solid_state);
bool tcmu_dev_get_solid_state_media(struct tcmu_device* dev);
void tcmu_dev_set_unmap_enabled(struct tcmu_device* dev, bool enabled);
bool tcmu_dev_get_unmap_enabled(struct tcmu_device* dev);

// CDB helpers (libtcmu_common.h / api.c).
int tcmu_cdb_get_length(uint8_t* cdb);
uint64_t tcmu_cdb_get_lba(uint8_t* cdb);
uint32_t tcmu_cdb_get_xfer_length(uint8_t* cdb);

// iovec helpers (api.c semantics: memcpy_* consume the iovec they copy).
off_t tcmu_iovec_compare(void* mem, struct iovec* iovec, size_t size);  // -1 = equal
size_t tcmu_iovec_seek(struct iovec* iovec, size_t count);              // returns iovecs consumed
void tcmu_iovec_zero(struct iovec* iovec, size_t iov_cnt);
bool tcmu_iovec_zeroed(struct iovec* iovec, size_t iov_cnt);
size_t tcmu_iovec_length(struct iovec* iovec, size_t iov_cnt);
size_t tcmu_memcpy_into_iovec(struct iovec* iovec, size_t iov_cnt, void* src, size_t len);
size_t tcmu_memcpy_from_iovec(void* dest, size_t len, struct iovec* iovec, size_t iov_cnt);
void tcmu_cmd_seek(struct tcmulib_cmd* cmd, size_t count);

// Sense helpers (api.c): fixed format, response code 0x70.
int tcmu_sense_set_data(uint8_t* sense_buf, uint8_t key, uint16_t asc_ascq);
void tcmu_sense_set_info(uint8_t* sense_buf, uint32_t info);  // VALID + INFORMATION
void tcmu_sense_set_key_specific_info(uint8_t* sense_buf, uint16_t info);
void __tcmu_sense_set_data(uint8_t* sense_buf, uint8_t key, uint16_t asc_ascq);

// Logging (libtcmu_log.h); dev may be NULL. Use the macros below.
void tcmu_crit_message(struct tcmu_device* dev, const char* funcname, int linenr, const char* fmt,
                       ...) __attribute__((format(printf, 4, 5)));
void tcmu_err_message(struct tcmu_device* dev, const char* funcname, int linenr, const char* fmt,
                      ...) __attribute__((format(printf, 4, 5)));
void tcmu_warn_message(struct tcmu_device* dev, const char* funcname, int linenr, const char* fmt,
                       ...) __attribute__((format(printf, 4, 5)));
void tcmu_info_message(struct tcmu_device* dev, const char* funcname, int linenr, const char* fmt,
                       ...) __attribute__((format(printf, 4, 5)));
void tcmu_dbg_message(struct tcmu_device* dev, const char* funcname, int linenr, const char* fmt,
                      ...) __attribute__((format(printf, 4, 5)));
void tcmu_dbg_scsi_cmd_message(struct tcmu_device* dev, const char* funcname, int linenr,
                               const char* fmt, ...) __attribute__((format(printf, 4, 5)));

// ---------------------------------------------------------------------------------
// Harness-only extension (tests/harness/, NOT in tcmu-runner): the initiator name the
// harness attached to a command, or NULL. A plugin looks it up at open time with
//   auto fn = reinterpret_cast<rbdtier_harness_cmd_initiator_fn>(
//       dlsym(RTLD_DEFAULT, RBDTIER_HARNESS_CMD_INITIATOR_SYMBOL));
// and falls back to its configfs-based attribution when fn is null (real tcmu-runner).
// The string stays valid until the command is completed.
#define RBDTIER_HARNESS_CMD_INITIATOR_SYMBOL "rbdtier_harness_cmd_initiator"
typedef const char* (*rbdtier_harness_cmd_initiator_fn)(struct tcmu_device* dev,
                                                        struct tcmur_cmd* cmd);

}  // extern "C"

#define tcmu_dev_crit(dev, ...) tcmu_crit_message(dev, __func__, __LINE__, __VA_ARGS__)
#define tcmu_dev_err(dev, ...) tcmu_err_message(dev, __func__, __LINE__, __VA_ARGS__)
#define tcmu_dev_warn(dev, ...) tcmu_warn_message(dev, __func__, __LINE__, __VA_ARGS__)
#define tcmu_dev_info(dev, ...) tcmu_info_message(dev, __func__, __LINE__, __VA_ARGS__)
#define tcmu_dev_dbg(dev, ...) tcmu_dbg_message(dev, __func__, __LINE__, __VA_ARGS__)
#define tcmu_crit(...) tcmu_crit_message(nullptr, __func__, __LINE__, __VA_ARGS__)
#define tcmu_err(...) tcmu_err_message(nullptr, __func__, __LINE__, __VA_ARGS__)
#define tcmu_warn(...) tcmu_warn_message(nullptr, __func__, __LINE__, __VA_ARGS__)
#define tcmu_info(...) tcmu_info_message(nullptr, __func__, __LINE__, __VA_ARGS__)
#define tcmu_dbg(...) tcmu_dbg_message(nullptr, __func__, __LINE__, __VA_ARGS__)

// Layout checks (x86_64 LP64, glibc). Offsets of tcmur_handler verified against the
// relocations of tcmu_rbd_handler in Debian's handler_rbd.so; tcmur_device offsets
// against its loads of lock_lost_cnt (0x30), conn_lost_cnt (0x38), cmd_timed_out_cnt
// (0x40) and lock_state (0x51).
static_assert(sizeof(void*) == 8, "tcmu_abi.h describes the LP64 ABI only");
static_assert(offsetof(tcmur_handler, opaque) == 0x18);
static_assert(offsetof(tcmur_handler, check_config) == 0x20);
static_assert(offsetof(tcmur_handler, reconfig) == 0x28);
static_assert(offsetof(tcmur_handler, open) == 0x30);
static_assert(offsetof(tcmur_handler, close) == 0x38);
static_assert(offsetof(tcmur_handler, nr_threads) == 0x40);
static_assert(offsetof(tcmur_handler, handle_cmd) == 0x48);
static_assert(offsetof(tcmur_handler, read) == 0x50);
static_assert(offsetof(tcmur_handler, write) == 0x58);
static_assert(offsetof(tcmur_handler, flush) == 0x60);
static_assert(offsetof(tcmur_handler, unmap) == 0x68);
static_assert(offsetof(tcmur_handler, writesame) == 0x70);
static_assert(offsetof(tcmur_handler, caw) == 0x78);
static_assert(offsetof(tcmur_handler, report_event) == 0x80);
static_assert(offsetof(tcmur_handler, lock) == 0x88);
static_assert(offsetof(tcmur_handler, unlock) == 0x90);
static_assert(offsetof(tcmur_handler, get_lock_tag) == 0x98);
static_assert(offsetof(tcmur_handler, get_lock_state) == 0xa0);
static_assert(offsetof(tcmur_handler, _is_dbus_handler) == 0xa8);
static_assert(offsetof(tcmur_handler, update_logdir) == 0xb0);
static_assert(offsetof(tcmur_handler, init) == 0xb8);
static_assert(offsetof(tcmur_handler, destroy) == 0xc0);
static_assert(sizeof(tcmur_handler) == 0xc8);
static_assert(offsetof(tcmulib_cmd, cdb) == 8);
static_assert(offsetof(tcmulib_cmd, sense_buf) == 32);
static_assert(sizeof(tcmulib_cmd) == 136);
static_assert(offsetof(tcmur_cmd, iovec) == 8);
static_assert(offsetof(tcmur_cmd, requested) == 40);
static_assert(offsetof(tcmur_cmd, start_time) == 64);
static_assert(offsetof(tcmur_cmd, done) == 88);
static_assert(sizeof(tcmur_cmd) == 96);
static_assert(offsetof(tcmur_device, lock_lost_cnt) == 0x30);
static_assert(offsetof(tcmur_device, conn_lost_cnt) == 0x38);
static_assert(offsetof(tcmur_device, cmd_timed_out_cnt) == 0x40);
static_assert(offsetof(tcmur_device, lock_state) == 0x51);
static_assert(offsetof(tcmur_device, state_lock) == 0x58);
static_assert(sizeof(tcmulib_cfg_info) == 16);
