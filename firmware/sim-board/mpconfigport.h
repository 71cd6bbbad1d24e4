// MicroPython configuration of the simulated board: a typical board's
// feature level, with the console on a modelled UART (uart.c), a littlefs
// filesystem on a file-backed flash (flash.c), and a GC heap sized at run
// time (main.c).

#include <stdint.h>
#include <alloca.h>

#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

#define MICROPY_HW_BOARD_NAME               "sim-board"
#if defined(__x86_64__)
#define MICROPY_HW_MCU_NAME                 "x86_64"
#elif defined(__aarch64__)
#define MICROPY_HW_MCU_NAME                 "aarch64"
#elif defined(__i386__)
#define MICROPY_HW_MCU_NAME                 "i386"
#else
#define MICROPY_HW_MCU_NAME                 "host-cpu"
#endif
#define MICROPY_PY_SYS_PLATFORM             "sim-board"

// Memory.
#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_GC_SPLIT_HEAP               (1)
#define MICROPY_MEM_STATS                   (1)
#define MICROPY_MALLOC_USES_ALLOCATED_SIZE  (1)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_ALLOC_PATH_MAX              (256)
#define MICROPY_STACK_CHECK                 (1)
#if SIM_BOARD_ASAN
#define MICROPY_NLR_SETJMP                  (1)
#define MICROPY_GCREGS_SETJMP               (1)
#endif

// Compiler and runtime.
#define MICROPY_PERSISTENT_CODE_LOAD        (1)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_WARNINGS                    (1)
#define MICROPY_ENABLE_SCHEDULER            (1)
#define MICROPY_SCHEDULER_DEPTH             (8)
#define MICROPY_KBD_EXCEPTION               (1)
#define MICROPY_HELPER_REPL                 (1)
#define MICROPY_REPL_INFO                   (1)

// Files and modules.
#define MICROPY_READER_VFS                  (1)
#define MICROPY_VFS                         (1)
#define MICROPY_PY_SYS_STDFILES             (1)
#define MICROPY_PY_SYS_STDIO_BUFFER         (1)
#define MICROPY_PY_OS_UNAME                 (1)
#define MICROPY_PY_OS_SYNC                  (1)
#define MICROPY_PY_SELECT                   (1)
#define MICROPY_PY_TIME                     (1)
#define MICROPY_PY_TIME_TIME_TIME_NS        (1)
#define MICROPY_PY_TIME_INCLUDEFILE         "modtime_port.c"
#define MICROPY_PY_MACHINE                  (1)
#define MICROPY_PY_MACHINE_INCLUDEFILE      "modmachine_port.c"
#define MICROPY_PY_MACHINE_RESET            (1)
#define MICROPY_PY_MACHINE_BARE_METAL_FUNCS (1)
#define MICROPY_PY_HASHLIB                  (1)
#define MICROPY_PY_HASHLIB_SHA256           (1)
#define MICROPY_PY_BINASCII                 (1)
#define MICROPY_PY_BINASCII_CRC32           (1)
#define MICROPY_PY_DEFLATE                  (1)
#define MICROPY_PY_DEFLATE_COMPRESS         (1)
#define MICROPY_PY_ASYNCIO                  (0)

// The UART model wakes the MicroPython thread when input arrives, and its
// RX "interrupt" is masked in atomic sections (uart.c).
void sim_board_wait_event(int timeout_ms);
void uart_irq_disable(void);
void uart_irq_enable(void);
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS)    sim_board_wait_event(TIMEOUT_MS)
#define MICROPY_BEGIN_ATOMIC_SECTION()      (uart_irq_disable(), 0)
#define MICROPY_END_ATOMIC_SECTION(state)   ((void)(state), uart_irq_enable())

// Type definitions for the host machine.
typedef intptr_t mp_int_t;
typedef uintptr_t mp_uint_t;
typedef long mp_off_t;

#define MP_STATE_PORT MP_STATE_VM
