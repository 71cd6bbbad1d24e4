// The UART model: an RX ring filled by a reader thread that plays the
// UART's interrupt handler, and a TX path, both optionally paced at the
// byte rate of an 8N1 line.
#ifndef MICROPY_INCLUDED_SIM_BOARD_UART_H
#define MICROPY_INCLUDED_SIM_BOARD_UART_H

#include <stdbool.h>
#include <stddef.h>

// Open a pty, put it in raw mode and make link a symlink to its slave.
// On error prints a message on stderr and returns false.
bool uart_open_pty(const char *link);

// Use stdin and stdout as the line (raw mode on stdin if it is a tty).
bool uart_open_stdio(void);

// Flow control (set before uart_start): a full ring leaves the host's bytes
// on the line, as USB-CDC does, instead of dropping them as a UART does.
void uart_set_flow(bool on);

// Size the RX ring and set the line rate (0 = unpaced), then start the
// reader thread. shutdown is called on the reader thread when the board
// must exit (signal or end of input); it does not return.
bool uart_start(size_t rx_buf, unsigned long baud, void (*poll_cb)(void));

// Pop one received byte, or -1 when the ring is empty.
int uart_rx_pop(void);

// Number of bytes waiting in the RX ring.
size_t uart_rx_any(void);

// True once the input has ended (--stdio only) and the ring is empty.
bool uart_rx_ended(void);

// Drop whatever the RX ring holds (hard reset).
void uart_rx_clear(void);

// Wait until input arrives, the interrupt char is seen, or timeout_ms
// passes (-1: no limit).
void uart_wait_event(int timeout_ms);

// Send bytes, blocking at the line rate when paced. Output is discarded
// while no host has the pty open, as a UART sends into an unplugged cable.
void uart_tx(const char *buf, size_t len);

// Undo what uart_open_* did: restore the terminal, remove the link.
void uart_close(void);

// Mask and unmask the "interrupt" (the reader thread's pushes), like
// disabling IRQs; nests.
void uart_irq_disable(void);
void uart_irq_enable(void);

#endif // MICROPY_INCLUDED_SIM_BOARD_UART_H
