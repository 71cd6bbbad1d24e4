/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */

// Negotiated extensions of the raw-paste command (proto/PROTOCOL.md part B):
// capability query, streamed execution and streamed .mpy.
// Included by pyexec.c (one translation unit); not compiled on its own.

// Largest block payload of B.2; blocks in flight fill the RX buffer.
#ifndef MICROPY_PYEXEC_BLOCK_MAX
#define MICROPY_PYEXEC_BLOCK_MAX (MICROPY_REPL_STDIN_BUFFER_MAX / 2 - MPU_PROTO_BLK_HEADER_LEN - MPU_PROTO_BLK_TRAILER_LEN)
#endif
#ifndef MICROPY_PYEXEC_BLOCKS_IN_FLIGHT
#define MICROPY_PYEXEC_BLOCKS_IN_FLIGHT (2)
#endif

#define PYEXEC_EXT_MPY (MICROPY_PERSISTENT_CODE_LOAD)

static void pyexec_ext_u16(byte *p, size_t v) {
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
}

// B.1: one record telling the host what this device serves.
static bool pyexec_checked_available(void);

static void pyexec_ext_info(void) {
    byte r[3 + MPU_PROTO_INFO_LEN] = { 'R', MPU_PROTO_NEG_ACCEPTED, MPU_PROTO_INFO_LEN };
    byte *p = r + 3;
    p[MPU_PROTO_INFO_OFF_VERSION] = MPU_PROTO_VERSION;
    p[MPU_PROTO_INFO_OFF_FLAGS] = MPU_PROTO_CAP_EXEC_STREAM | MPU_PROTO_CAP_BATCHED
        | (PYEXEC_EXT_MPY ? MPU_PROTO_CAP_MPY : 0)
        | (pyexec_checked_available() ? MPU_PROTO_CAP_EXEC_CHECKED : 0);
    pyexec_ext_u16(p + MPU_PROTO_INFO_OFF_WINDOW, MICROPY_REPL_STDIN_BUFFER_MAX / 2);
    pyexec_ext_u16(p + MPU_PROTO_INFO_OFF_BLOCK_MAX, MICROPY_PYEXEC_BLOCK_MAX);
    p[MPU_PROTO_INFO_OFF_BLOCKS_IN_FLIGHT] = MICROPY_PYEXEC_BLOCKS_IN_FLIGHT;
    #if PYEXEC_EXT_MPY
    p[MPU_PROTO_INFO_OFF_MPY_VERSION] = MPY_VERSION;
    p[MPU_PROTO_INFO_OFF_MPY_FEATURES] = MPY_FEATURE_ENCODE_SUB_VERSION(MPY_SUB_VERSION) | MPY_FEATURE_ENCODE_ARCH(MPY_FEATURE_ARCH);
    p[MPU_PROTO_INFO_OFF_MPY_SMALL_INT_BITS] = MP_SMALL_INT_BITS;
    #endif
    pyexec_ext_u16(p + MPU_PROTO_INFO_OFF_BATCH, MICROPY_PYEXEC_BATCH_SIZE);
    mp_hal_stdout_tx_strn((const char *)r, sizeof(r));
}

static void pyexec_ext_report(const char *frame, mp_obj_t exc) {
    mp_hal_stdout_tx_strn(frame, 1);
    mp_obj_print_exception(&mp_plat_print, exc);
    mp_hal_stdout_tx_strn("\x04", 1);
}

// B.3: runs one compiled batch inside an output section.
static bool pyexec_stream_run(mp_obj_t fun) {
    mp_hal_stdout_tx_strn("\x02", 1);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_hal_set_interrupt_char(CHAR_CTRL_C);
        mp_call_function_0(fun);
        mp_hal_set_interrupt_char(-1);
        mp_handle_pending(true);
        nlr_pop();
        mp_hal_stdout_tx_strn("\x04\x06", 2);
        return true;
    } else {
        mp_hal_set_interrupt_char(-1);
        mp_handle_pending(false);
        mp_hal_stdout_tx_strn("\x04", 1);
        pyexec_ext_report("\x15", MP_OBJ_FROM_PTR(nlr.ret_val));
        return false;
    }
}

// B.3: streamed execution.
static void pyexec_ext_stream(void) {
    mp_hal_stdout_tx_strn("R\x01", 2);
    pyexec_in_t in;
    pyexec_in_init(&in, PYEXEC_IN_STREAM);
    pyexec_in_start_window(&in, MICROPY_REPL_STDIN_BUFFER_MAX);
    pyexec_compile_t pc;
    pyexec_compile_init(&pc, &in, false);
    pc.run_each = true;
    mp_obj_t exc = pyexec_compile_all(&pc);
    if (pc.consts != NULL) {
        m_del(char, pc.consts, MICROPY_PYEXEC_CONST_MAX);
        pc.consts = NULL;
    }
    if (exc != MP_OBJ_NULL && exc != mp_const_none) {
        #if MICROPY_ENABLE_GC
        gc_collect();
        #endif
        pyexec_ext_report("\x15", exc);
    }
    pyexec_in_abort(&in);
}

#if PYEXEC_EXT_MPY

static uint32_t pyexec_crc32(uint32_t crc, const byte *p, size_t n) {
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (MPU_PROTO_CRC32_POLY & (0u - (crc & 1)));
        }
    }
    return crc;
}

// B.2 receiver as an mp_reader_t.
typedef struct _pyexec_blk_t {
    byte *buf;
    size_t len;
    size_t pos;
    size_t total;
    uint8_t seq; // next expected
    uint8_t naks;
    bool resync;
    bool end;
    uint32_t end_len;
} pyexec_blk_t;

static int pyexec_blk_rx(void) {
    int c = pyexec_rx_timed();
    if (c < 0) {
        mp_raise_OSError(MP_ETIMEDOUT);
    }
    return c;
}

// Receives the next good block into blk->buf; ACKs it.
static void pyexec_blk_next(pyexec_blk_t *blk) {
    for (;;) {
        if (blk->resync) {
            // Discard up to MPU_PROTO_RESYNC, for one timeout at most.
            size_t got = 0;
            #if MICROPY_PYEXEC_RX_TIMEOUT_MS
            mp_uint_t start = mp_hal_ticks_ms();
            #endif
            while (got < MPU_PROTO_RESYNC_LEN) {
                #if MICROPY_PYEXEC_RX_TIMEOUT_MS
                if (mp_hal_ticks_ms() - start >= MICROPY_PYEXEC_RX_TIMEOUT_MS) {
                    mp_raise_OSError(MP_ETIMEDOUT);
                }
                #endif
                int c = pyexec_blk_rx();
                if (c == (byte)MPU_PROTO_RESYNC[got]) {
                    got++;
                } else {
                    got = c == (byte)MPU_PROTO_RESYNC[0] ? 1 : 0;
                }
            }
            blk->resync = false;
        }
        int c = pyexec_blk_rx();
        if (c == CHAR_CTRL_C) {
            pyexec_raise_kbd();
        }
        bool ok = c == MPU_PROTO_BLK_SYNC;
        byte hdr[4];
        size_t n = 0;
        if (ok) {
            for (size_t i = 0; i < 4; i++) {
                hdr[i] = pyexec_blk_rx();
            }
            n = hdr[2] | hdr[3] << 8;
            ok = (hdr[0] == MPU_PROTO_BLK_DATA || hdr[0] == MPU_PROTO_BLK_END || hdr[0] == MPU_PROTO_BLK_ABORT)
                && n <= MICROPY_PYEXEC_BLOCK_MAX;
        }
        if (ok) {
            for (size_t i = 0; i < n + 4; i++) {
                blk->buf[i] = pyexec_blk_rx();
            }
            uint32_t crc = pyexec_crc32(MPU_PROTO_CRC32_INIT, hdr, 4);
            crc = pyexec_crc32(crc, blk->buf, n) ^ MPU_PROTO_CRC32_XOROUT;
            const byte *t = blk->buf + n;
            ok = crc == ((uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24)
                && hdr[1] == blk->seq;
        }
        if (!ok) {
            if (++blk->naks > MPU_PROTO_BLK_MAX_RETRIES) {
                mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("too many bad blocks"));
            }
            byte nak[2] = { MPU_PROTO_BLK_NAK, blk->seq };
            mp_hal_stdout_tx_strn((const char *)nak, 2);
            blk->resync = true;
            continue;
        }
        blk->naks = 0;
        if (hdr[0] == MPU_PROTO_BLK_ABORT) {
            pyexec_raise_kbd();
        }
        byte ack[2] = { MPU_PROTO_BLK_ACK, blk->seq++ };
        if (hdr[0] == MPU_PROTO_BLK_END) {
            blk->end = true;
            blk->end_len = n >= 4 ? (blk->buf[0] | blk->buf[1] << 8 | blk->buf[2] << 16 | (uint32_t)blk->buf[3] << 24) : 0;
            blk->len = 0;
            if (blk->end_len != blk->total) {
                mp_raise_msg(&mp_type_ValueError, MP_ERROR_TEXT("incompatible .mpy"));
            }
            // The END block's ACK is sent by the caller, once all is loaded.
            return;
        }
        mp_hal_stdout_tx_strn((const char *)ack, 2);
        blk->len = n;
        blk->pos = 0;
        blk->total += n;
        return;
    }
}

static mp_uint_t pyexec_blk_readbyte(void *data) {
    pyexec_blk_t *blk = data;
    while (blk->pos >= blk->len) {
        if (blk->end) {
            return MP_READER_EOF;
        }
        pyexec_blk_next(blk);
    }
    return blk->buf[blk->pos++];
}

static void pyexec_blk_close(void *data) {
    (void)data;
}

// B.4: streamed .mpy.
static int pyexec_ext_mpy(void) {
    byte r[5] = { 'R', MPU_PROTO_NEG_ACCEPTED };
    pyexec_ext_u16(r + 2, MICROPY_PYEXEC_BLOCK_MAX);
    r[4] = MICROPY_PYEXEC_BLOCKS_IN_FLIGHT;
    mp_hal_stdout_tx_strn((const char *)r, sizeof(r));

    pyexec_blk_t blk;
    memset(&blk, 0, sizeof(blk));
    pyexec_compiled_t compiled = { NULL, MP_OBJ_NULL };
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        blk.buf = m_new(byte, MICROPY_PYEXEC_BLOCK_MAX + MPU_PROTO_BLK_TRAILER_LEN);
        mp_reader_t reader = { &blk, pyexec_blk_readbyte, pyexec_blk_close };
        mp_compiled_module_t cm;
        cm.context = m_new_obj(mp_module_context_t);
        cm.context->module.globals = mp_globals_get();
        mp_raw_code_load(&reader, &cm);
        // Data after the module, up to the END block.
        while (pyexec_blk_readbyte(&blk) != MP_READER_EOF) {
        }
        m_del(byte, blk.buf, MICROPY_PYEXEC_BLOCK_MAX + MPU_PROTO_BLK_TRAILER_LEN);
        blk.buf = NULL;
        pyexec_funs_t *tail = NULL;
        compiled.funs = pyexec_funs_append(&tail, mp_make_function_from_proto_fun(cm.rc, cm.context, NULL));
        nlr_pop();
    } else {
        blk.buf = NULL;
        #if MICROPY_ENABLE_GC
        gc_collect();
        #endif
        pyexec_ext_report("\x18", MP_OBJ_FROM_PTR(nlr.ret_val));
        // Discard what the host still sends.
        for (;;) {
            int c = pyexec_rx_timed();
            if (c < 0 || c == CHAR_CTRL_C || c == CHAR_CTRL_D) {
                break;
            }
        }
        return 0;
    }
    byte ack[2] = { MPU_PROTO_BLK_ACK, (byte)(blk.seq - 1) };
    mp_hal_stdout_tx_strn((const char *)ack, 2);
    return parse_compile_execute(&compiled, MP_PARSE_FILE_INPUT, EXEC_FLAG_PRINT_EOF | EXEC_FLAG_SOURCE_IS_COMPILED);
}

#endif // PYEXEC_EXT_MPY

// B.6: streamed execution in checked blocks.
#include "pyexec_checked.c"

// Sub-commands of the raw-paste negotiation other than 'A'.
static int pyexec_ext(int c) {
    switch (c) {
        case MPU_PROTO_SUB_INFO:
            pyexec_ext_info();
            return 0;
        case MPU_PROTO_SUB_EXEC_STREAM:
            pyexec_ext_stream();
            return 0;
        #if PYEXEC_EXT_MPY
        case MPU_PROTO_SUB_MPY:
            return pyexec_ext_mpy();
        #endif
        case MPU_PROTO_SUB_EXEC_CHECKED:
            return pyexec_ext_checked();
        default:
            // Unsupported command.
            mp_hal_stdout_tx_strn("R\x00", 2);
            return 0;
    }
}
