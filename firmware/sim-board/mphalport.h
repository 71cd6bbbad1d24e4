// Hardware abstraction of the simulated board: time from the host's
// monotonic clock, the console on the UART model (uart.c).
#ifndef MICROPY_INCLUDED_SIM_BOARD_MPHALPORT_H
#define MICROPY_INCLUDED_SIM_BOARD_MPHALPORT_H

#include <stdint.h>
#include "shared/runtime/interrupt_char.h"

mp_uint_t mp_hal_ticks_ms(void);
mp_uint_t mp_hal_ticks_us(void);
mp_uint_t mp_hal_ticks_cpu(void);
void mp_hal_delay_ms(mp_uint_t ms);
void mp_hal_delay_us(mp_uint_t us);
uint64_t mp_hal_time_ns(void);

#define mp_hal_delay_us_fast(us) mp_hal_delay_us(us)

#endif // MICROPY_INCLUDED_SIM_BOARD_MPHALPORT_H
