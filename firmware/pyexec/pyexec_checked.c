/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */

// B.6: streamed execution whose program text arrives in CRC-checked B.2
// blocks, so a byte damaged on the line is re-sent instead of run.
// Included by pyexec_ext.c (one translation unit); not compiled on its own.

static bool pyexec_checked_available(void) {
    return false;
}

static int pyexec_ext_checked(void) {
    // Not served yet.
    mp_hal_stdout_tx_strn("R\x00", 2);
    return 0;
}
