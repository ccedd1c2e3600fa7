#ifndef SYNCREPLAY_CRC32_HARDWARE_H
#define SYNCREPLAY_CRC32_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU can run syncreplay_crc32_clmul (x86-64 with PCLMULQDQ), else 0.
int syncreplay_crc32_clmul_available(void);

/// The CRC-32/ISO-HDLC register (no final xor) after `n` bytes at `p`, starting from `reg`,
/// by carry-less multiplication. Only call it when syncreplay_crc32_clmul_available() is 1
/// and n >= 64; elsewhere it returns `reg` unchanged.
uint32_t syncreplay_crc32_clmul(uint32_t reg, const uint8_t *p, size_t n);

#endif
