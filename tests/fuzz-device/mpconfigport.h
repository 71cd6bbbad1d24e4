// The fuzz build of the simulated board: its configuration, with every
// loop and return of the VM counted against a budget (fuzz_device.c), and
// without the regular expression module, whose backtracking runs in C
// where no budget reaches.

#include "../../firmware/sim-board/mpconfigport.h"

void fuzz_vm_hook(void);
#define MICROPY_VM_HOOK_LOOP                fuzz_vm_hook();
#define MICROPY_VM_HOOK_RETURN              fuzz_vm_hook();
#define MICROPY_PY_RE                       (0)

// Programs that read the console are told from the host's way back
// (fuzz_device.c).
void fuzz_before_exec(void);
void fuzz_after_exec(void);
#define MICROPY_BOARD_BEFORE_PYTHON_EXEC(input_kind, exec_flags) fuzz_before_exec()
#define MICROPY_BOARD_AFTER_PYTHON_EXEC(input_kind, exec_flags, ret_val, ret) fuzz_after_exec()
