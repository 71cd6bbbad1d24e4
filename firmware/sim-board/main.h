// Board-level control of the simulated board.
#ifndef MICROPY_INCLUDED_SIM_BOARD_MAIN_H
#define MICROPY_INCLUDED_SIM_BOARD_MAIN_H

#include "py/mpconfig.h"
#include "py/misc.h"

// Exit the process: write --stats, restore the terminal, remove the pty
// link. Callable from either thread; does not return.
NORETURN void board_exit(int status);

// machine.reset(): restart the board from power-on, keeping the pty.
NORETURN void board_hard_reset(void);

// 1 after power-on, 2 after machine.reset().
int board_reset_cause(void);

#endif // MICROPY_INCLUDED_SIM_BOARD_MAIN_H
