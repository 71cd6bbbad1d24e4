// Constants of the mpupload wire protocol (proto/PROTOCOL.md), shared by the
// firmware (firmware/pyexec) and the host client (host/mpupload). Plain C99.
#ifndef MPU_INCLUDED_PROTO_MPU_PROTO_H
#define MPU_INCLUDED_PROTO_MPU_PROTO_H

// Protocol version reported by the capability query (B.1).
#define MPU_PROTO_VERSION (1)

// Control characters (A.1-A.5).
#define MPU_PROTO_CTRL_A (0x01) // enter raw REPL; raw-paste window credit
#define MPU_PROTO_CTRL_B (0x02) // leave raw REPL
#define MPU_PROTO_CTRL_C (0x03) // interrupt, clear, abort
#define MPU_PROTO_CTRL_D (0x04) // end of data, soft reset, end marker
#define MPU_PROTO_CTRL_E (0x05) // paste mode, raw-paste negotiation

// Fixed strings.
#define MPU_PROTO_RAW_BANNER "raw REPL; CTRL-B to exit\r\n>"
#define MPU_PROTO_PASTE_BANNER "\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
#define MPU_PROTO_OLD_RAW_TAIL "w REPL; CTRL-B to exit\r\n>"

// Raw-paste negotiation: write "\x05" LETTER "\x01", read 'R' then a status.
#define MPU_PROTO_NEG_REPLY ('R')
#define MPU_PROTO_NEG_REFUSED (0x00)
#define MPU_PROTO_NEG_ACCEPTED (0x01)

// Sub-command letters.
#define MPU_PROTO_SUB_RAW_PASTE ('A') // upstream raw-paste (A.3)
#define MPU_PROTO_SUB_INFO ('I') // capability query (B.1)
#define MPU_PROTO_SUB_EXEC_STREAM ('S') // streamed execution (B.3)
#define MPU_PROTO_SUB_MPY ('M') // streamed .mpy (B.4)
#define MPU_PROTO_SUB_FILE ('F') // file transfer (B.5)
#define MPU_PROTO_SUB_EXEC_CHECKED ('C') // streamed execution in CRC-checked blocks (B.6)

// Upstream default raw-paste window increment (MICROPY_REPL_STDIN_BUFFER_MAX / 2).
#define MPU_PROTO_DEFAULT_WINDOW (128)

// Capability record (B.1).
#define MPU_PROTO_INFO_LEN (12)
#define MPU_PROTO_INFO_OFF_VERSION (0)
#define MPU_PROTO_INFO_OFF_FLAGS (1)
#define MPU_PROTO_INFO_OFF_WINDOW (2)
#define MPU_PROTO_INFO_OFF_BLOCK_MAX (4)
#define MPU_PROTO_INFO_OFF_BLOCKS_IN_FLIGHT (6)
#define MPU_PROTO_INFO_OFF_MPY_VERSION (7)
#define MPU_PROTO_INFO_OFF_MPY_FEATURES (8)
#define MPU_PROTO_INFO_OFF_MPY_SMALL_INT_BITS (9)
#define MPU_PROTO_INFO_OFF_BATCH (10)
#define MPU_PROTO_CAP_EXEC_STREAM (1 << 0)
#define MPU_PROTO_CAP_MPY (1 << 1)
#define MPU_PROTO_CAP_FILE (1 << 2)
#define MPU_PROTO_CAP_BATCHED (1 << 3)
#define MPU_PROTO_CAP_EXEC_CHECKED (1 << 4)

// Device-to-host frame bytes of streamed execution (B.3).
#define MPU_PROTO_F_CREDIT (0x01) // one more window
#define MPU_PROTO_F_OUT (0x02) // output section, ends at MPU_PROTO_F_OUT_END
#define MPU_PROTO_F_OUT_END (0x04) // end of an output section
#define MPU_PROTO_F_EOD (0x04) // host's end of data read (outside a section)
#define MPU_PROTO_F_OK (0x06) // batch finished normally
#define MPU_PROTO_F_ERR (0x15) // exception text follows, ends at 0x04
#define MPU_PROTO_F_DONE ('>') // back at the raw REPL prompt

// Blocks (B.2): SYNC TYPE SEQ LEN(u16) PAYLOAD CRC32(u32 over TYPE..PAYLOAD).
#define MPU_PROTO_BLK_SYNC (0xa5)
#define MPU_PROTO_BLK_DATA ('D')
#define MPU_PROTO_BLK_END ('E')
#define MPU_PROTO_BLK_ABORT ('X')
#define MPU_PROTO_BLK_HEADER_LEN (5)
#define MPU_PROTO_BLK_TRAILER_LEN (4)
#define MPU_PROTO_BLK_ACK (0x06) // + seq
#define MPU_PROTO_BLK_NAK (0x15) // + seq; host writes MPU_PROTO_RESYNC, re-sends from seq
#define MPU_PROTO_BLK_CAN (0x18) // + text + 0x04, then '>'
#define MPU_PROTO_RESYNC "\xa5\x5a\xa5\x5aSYNC"
#define MPU_PROTO_RESYNC_LEN (8)
#define MPU_PROTO_BLK_MAX_RETRIES (16) // NAKs in a row before the device gives up
#define MPU_PROTO_DEFAULT_BLOCK_MAX (1024)
#define MPU_PROTO_DEFAULT_BLOCKS_IN_FLIGHT (2)

// File transfer (B.5).
#define MPU_PROTO_FILE_PUT ('P')
#define MPU_PROTO_FILE_GET ('G')
#define MPU_PROTO_FILE_HASH ('H') // reserved
#define MPU_PROTO_FILE_F_RESUME (0x01)
#define MPU_PROTO_FILE_F_PARENTS (0x02)
#define MPU_PROTO_FILE_REQ_LEN (6) // op, flags, u32; then the path
#define MPU_PROTO_FILE_PATH_MAX (255)
#define MPU_PROTO_FILE_PUT_REPLY_LEN (37) // 'P', u32 kept, SHA-256 of the kept bytes
#define MPU_PROTO_FILE_GET_REPLY_LEN (37) // 'G', u32 size, SHA-256 of the file
#define MPU_PROTO_FILE_MAX_RETRIES (MPU_PROTO_BLK_MAX_RETRIES)
#define MPU_PROTO_DEFAULT_FILE_BLOCK (2048)
#define MPU_PROTO_DEFAULT_FILE_BLOCKS_IN_FLIGHT (4)

// CRC-32 of zlib and binascii.crc32.
#define MPU_PROTO_CRC32_POLY (0xedb88320u) // reflected
#define MPU_PROTO_CRC32_INIT (0xffffffffu)
#define MPU_PROTO_CRC32_XOROUT (0xffffffffu)
#define MPU_PROTO_CRC32_CHECK (0xcbf43926u) // crc32("123456789")

// Device receive timeout: the longest silence tolerated mid-transfer.
#define MPU_PROTO_RX_TIMEOUT_MS (10000)

// Session break: RESYNC, an X block every B.2 receiver accepts whatever its
// sequence number (0x48 makes all its bytes printable, so a REPL only adds
// them to a line), and a Ctrl-C that clears that line or ends the discard
// after the CAN.  Sent when the raw REPL does not answer Ctrl-A at once.
#define MPU_PROTO_BREAK MPU_PROTO_RESYNC "\xa5XH\x00\x00)$tQ\x03"
#define MPU_PROTO_BREAK_LEN (18)
#define MPU_PROTO_BREAK_AFTER_MS (250) // no banner this long after Ctrl-A: break
#define MPU_PROTO_BREAK_GAP_MS (250) // then wait: longer than a device's gap in a block (200 ms)
#define MPU_PROTO_BREAK_AGAIN_MS (400) // no banner this long after a later Ctrl-A: break again
#define MPU_PROTO_BREAK_WITHIN_MS (2000) // breaks only this long after the first Ctrl-C
#define MPU_PROTO_BREAK_MAX (3)

#endif // MPU_INCLUDED_PROTO_MPU_PROTO_H
