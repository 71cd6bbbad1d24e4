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

// MicroPython 1.25's readline moves the cursor back by "\x1b[%uD" made in a
// 6-byte buffer: 1000 columns or more fail its assert, or without asserts
// write one byte past it (shared/readline/readline.c:84). fuzz_device.c has
// the same two functions with room for any column.
#define MICROPY_HAL_HAS_VT100               (0)
void mp_hal_move_cursor_back(unsigned int pos);
void mp_hal_erase_line_from_cursor(unsigned int n_chars_to_erase);
