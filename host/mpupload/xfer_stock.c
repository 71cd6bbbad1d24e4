/* The stock device end of B.5 (proto/TRANSFER-STOCK.md): a receiver program
 * sent in small pieces, each compiled on its own and checked before it runs,
 * only those a session needs; called once per file, removed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "xfer_stock.h"

/* Stage 0, the only unchecked paste: the dict the pieces share as their
 * globals; _mpu_x(s,c), which runs piece s only when c is the first 4 bytes of
 * its SHA-256, and then prints "MPUK" (a paste damaged into a comment runs
 * nothing and says nothing); and the probe, which prints "MPUF" W F H (the wire, the free
 * heap, and c: binascii.crc32, or n: none). */
const char mpu_xfer_stock_stage0[] =
    "_mpu={}\n"
    "def _mpu_x(s,c):\n"
    " from hashlib import sha256\n"
    " if int.from_bytes(sha256(s).digest()[:4],'big')!=c:print('MPUX');return\n"
    " import gc;gc.collect();exec(s,_mpu);print('MPUK')\n"
    "exec(\"\"\"import sys,gc\n"
    "try:\n"
    " import binascii as A\n"
    "except:\n"
    " A=0\n"
    "i=getattr(sys.stdin,'buffer',0);u=getattr(sys.stdout,'buffer',0)\n"
    "X='b' if i and u else '6' if hasattr(A,'a2b_base64') else 'h' if hasattr(A,'unhexlify') else 'p'\n"
    "C=getattr(A,'crc32',0);gc.collect()\n"
    "print('MPUF',X,gc.mem_free(),'c' if C else 'n')\"\"\",_mpu)\n";

/* g(a,z,t): bytes a..z of the block buffer m, waiting at most t ms (T when 0)
 * for each; OSError(110) on a timeout. w(b): write bytes. A byte at a time:
 * stdin's readinto waits for all it was asked for on most ports. */
static const char wire_bin[] =
    "w=u.write;N=bytearray(1)\n"
    "def g(a,z,t=0):\n"
    " while a<z:\n"
    "  if q and not q(t or T):raise OSError(110)\n"
    "  if i.readinto(N):m[a]=N[0];a+=1\n";

/* The text wire: one line each write, decoded by D. */
#define TEXT_G \
    "v=[b'',0]\n" \
    "def g(a,z,t=0):\n" \
    " while a<z:\n" \
    "  if v[1]>=len(v[0]):\n" \
    "   if q and not q(t or T):raise OSError(110)\n" \
    "   try:\n" \
    "    v[0]=D(sys.stdin.readline())\n" \
    "   except Exception:\n" \
    "    v[0]=b'\\x00'\n" \
    "   v[1]=0\n" \
    "  k=min(z-a,len(v[0])-v[1]);m[a:a+k]=v[0][v[1]:v[1]+k];v[1]+=k;a+=k\n"

static const char wire_b64[] =
    "D=A.a2b_base64\n"
    "def w(b):print(A.b2a_base64(b).decode(),end='')\n"
    TEXT_G;

static const char wire_hex[] =
    "def D(l):return A.unhexlify(l.strip())\n"
    "def w(b):print(A.hexlify(b).decode())\n"
    TEXT_G;

static const char wire_pyhex[] =
    "def D(l):l=l.strip();return bytes(int(l[j:j+2],16) for j in range(0,len(l),2))\n"
    "def w(b):print(''.join('%02x'%c for c in b))\n"
    TEXT_G;

/* Only for boards without binascii.crc32. */
static const char crc_py[] =
    "def C(b):\n"
    " c=0xffffffff\n"
    " for v in b:\n"
    "  c^=v\n"
    "  for _ in range(8):c=c>>1^(0xedb88320&-(c&1))\n"
    " return c^0xffffffff\n";

/* The core, in pieces small enough to compile in a small heap: y, the resync
 * hunt, and su, the set-up (the block size the heap allows, Ctrl-C off, the
 * receive timeout); rb, a block in (B.2 with a 200 ms gap inside a block, an X
 * block whatever its sequence number, a \x03 at a block start, where a \r is
 * skipped: the raw REPL entry's \r\x03\x03 stops a transfer). */
static const char core_y[] =
    "import os\n"
    "from hashlib import sha256 as H\n"
    "try:\n"
    " from time import ticks_ms as M,ticks_diff as J\n"
    "except:\n"
    " M=0\n"
    "R=b'\\xa5Z\\xa5ZSYNC';L=int.from_bytes;P=O=Q=G=m=0\n"
    "def y():\n"
    " s=b'';n=0;t=M and M()\n"
    " while s!=R:\n"
    "  g(0,1);s=(s+bytes(m[:1]))[-8:];n+=1\n"
    "  if n>20*B+99 or M and J(M(),t)>T:raise OSError('no resync')\n"
    "def su(b,t):\n"
    " global B,T,m,q,P\n"
    " B=b;T=t;gc.collect()\n"
    " while B>256 and 3*B>gc.mem_free()-2048:B//=2\n"
    " try:\n"
    "  import micropython as P;P.kbd_intr(-1)\n"
    " except:\n"
    "  P=0\n"
    " try:\n"
    "  import select;q=select.poll();q.register(sys.stdin,select.POLLIN);q=q.poll\n"
    " except:\n"
    "  q=0\n"
    " while 1:\n"
    "  try:\n"
    "   m=memoryview(bytearray(B+9));break\n"
    "  except MemoryError:\n"
    "   if B<128:raise\n"
    "   B//=2\n";

static const char core_rb[] =
    "def rb(x):\n"
    " n=0\n"
    " while 1:\n"
    "  g(0,1)\n"
    "  if m[0]==3:raise KeyboardInterrupt\n"
    "  if m[0]==13:continue\n"
    "  if m[0]==165:\n"
    "   try:\n"
    "    g(1,5,200);l=m[3]|m[4]<<8\n"
    "    if m[1]==90:\n"
    "     g(5,8,200)\n"
    "     if bytes(m[:8])==R:continue\n"
    "    elif l<=B:\n"
    "     g(5,9+l,200)\n"
    "     if m[1] in(68,69,88) and C(m[1:5+l])==L(m[5+l:9+l],'little'):\n"
    "      if m[1]==88:raise KeyboardInterrupt\n"
    "      if m[2]==x:return m[1],l\n"
    "   except OSError:\n"
    "    pass\n"
    "  n+=1\n"
    "  if n>16:raise OSError('too many bad blocks')\n"
    "  w(bytes((21,x)));y()\n";

/* f(B,K,T), the transfer: the request, then pu or ge; ex, any end but
 * success: the CAN, input discarded. Every end restores Ctrl-C. */
static const char core_f[] =
    "def f(b,k,t):\n"
    " global O,Q,G,m\n"
    " O=Q=G=0\n"
    " try:\n"
    "  su(b,t);w(b'R\\x01'+bytes((B&255,B>>8,k)));t,l=rb(0)\n"
    "  c=m[5];n=L(m[7:11],'little');d=bytes(m[11:5+l]).decode().split('\\x00');w(b'\\x06\\x00')\n"
    "  if c==80:pu(d,m[6],n)\n"
    "  elif c==71:ge(d[0],n,k)\n"
    "  else:raise ValueError('bad request')\n"
    " except BaseException as e:\n"
    "  ex(e)\n"
    " finally:\n"
    "  O=Q=m=0\n"
    "  P and P.kbd_intr(3)\n"
    "def ex(e):\n"
    " try:\n"
    "  O and O.close()\n"
    "  Q and not(isinstance(e,OSError) and e.args[0]==110) and os.remove(Q)\n"
    " except:\n"
    "  pass\n"
    " w(b'\\x18'+('%s: %s\\r\\n'%(type(e).__name__,e)).encode()+b'\\x04')\n"
    " try:\n"
    "  while q or not G:\n"
    "   g(0,1,100 if G else T)\n"
    "   if m[0] in(3,4):break\n"
    " except:\n"
    "  pass\n";

/* Put: TARGET.part, resumed when its prefix matches (pu), the data and the
 * rename when whole (pd). */
static const char put_a[] =
    "def pu(d,F,n):\n"
    " global O,Q\n"
    " if len(d)>1:\n"
    "  try:\n"
    "   if os.stat(d[0])[0]&0x4000:d[0]=d[0].rstrip('/')+'/'+d[1]\n"
    "  except:\n"
    "   pass\n"
    " d=d[0]\n"
    " if F&2:\n"
    "  s=''\n"
    "  for e in d.split('/')[1:-1]:\n"
    "   s+='/'+e\n"
    "   try:\n"
    "    os.mkdir(s)\n"
    "   except:\n"
    "    pass\n"
    " p=Q=d+'.part';o=0;h=H();j=H()\n"
    " if F&1:\n"
    "  try:\n"
    "   o=os.stat(p)[6];k=0\n"
    "   if o>n:o=0\n"
    "   O=open(p,'rb')\n"
    "   while k<o:\n"
    "    r=O.readinto(m[:min(B,o-k)]);h.update(m[:r]);j.update(m[:r]);k+=r\n"
    "   O.close();O=0\n"
    "  except:\n"
    "   o=0\n"
    " w(b'P'+o.to_bytes(4,'little')+(h.digest() if o else bytes(32)));rb(1);k=L(m[5:9],'little')\n"
    " if k==0:\n"
    "  O=open(p,'wb');j=H()\n"
    " elif k==o:\n"
    "  O=open(p,'ab')\n"
    " else:\n"
    "  raise ValueError('bad offset')\n"
    " pd(d,p,n,k,j)\n";

static const char put_b[] =
    "def pd(d,p,n,k,j):\n"
    " global O,Q\n"
    " w(b'\\x06\\x01');x=2;z=0\n"
    " while 1:\n"
    "  t,l=rb(x&255)\n"
    "  if t==69:break\n"
    "  w(bytes((6,x&255)));x+=1;O.write(m[5:5+l]);j.update(m[5:5+l]);k+=l;z+=l\n"
    "  if z>32767:O.flush();z=0\n"
    " O.close();O=0\n"
    " if k!=n or l!=32 or j.digest()!=bytes(m[5:37]):raise ValueError('size or SHA-256 mismatch')\n"
    " try:\n"
    "  os.rename(p,d)\n"
    " except:\n"
    "  os.remove(d);os.rename(p,d)\n"
    " Q=0;w(bytes((6,x&255)))\n";

/* Get: the file's size and hash (ge), then blocks under a window of K,
 * go-back-N (gd). */
static const char get_a[] =
    "def ge(d,n,K):\n"
    " global O,G\n"
    " O=open(d,'rb');h=H();s=0\n"
    " while 1:\n"
    "  r=O.readinto(m[5:5+B])\n"
    "  if not r:break\n"
    "  h.update(m[5:5+r]);s+=r\n"
    " w(b'G'+s.to_bytes(4,'little')+h.digest());G=1;gd(n,K,s)\n";

static const char get_b[] =
    "def gd(n,K,s):\n"
    " global O\n"
    " U=[];a=x=1;e=k=0;o=min(n,s);n=0;E=B\n"
    " while 1:\n"
    "  while len(U)<K and not e:\n"
    "   r=0\n"
    "   if o<s:\n"
    "    O.seek(o);r=O.readinto(m[5:5+min(E,s-o)])\n"
    "   m[0]=165;m[1]=68 if r else 69;m[2]=x&255;m[3]=r&255;m[4]=r>>8\n"
    "   m[5+r:9+r]=C(m[1:5+r]).to_bytes(4,'little');w(m[:9+r]);U.append(o);o+=r;x+=1;e=not r\n"
    "  g(0,1)\n"
    "  if m[0] in(6,21):g(1,2)\n"
    "  if m[0]==6 and m[1]==a&255:\n"
    "   U.pop(0);a+=1;k+=1;n=0\n"
    "   if k>15 and E<B:E=min(B,E*2);k=0\n"
    "   if e and not U:break\n"
    "  elif m[0]==21 and m[1]==a&255:\n"
    "   n+=1\n"
    "   if n>16:raise OSError('too many bad blocks')\n"
    "   w(R);o=U[0];U=[];x=a;e=k=0;E=max(64,E//2)\n"
    "  else:\n"
    "   raise OSError('aborted by host')\n"
    " O.close();O=0\n";

const char *mpu_xfer_stock_piece(enum mpu_stock_piece p) {
    switch (p) {
        case MPU_STOCK_WIRE_BIN:
            return wire_bin;
        case MPU_STOCK_WIRE_B64:
            return wire_b64;
        case MPU_STOCK_WIRE_HEX:
            return wire_hex;
        case MPU_STOCK_WIRE_PYHEX:
            return wire_pyhex;
        case MPU_STOCK_CRC:
            return crc_py;
        case MPU_STOCK_CORE_Y:
            return core_y;
        case MPU_STOCK_CORE_RB:
            return core_rb;
        case MPU_STOCK_CORE_F:
            return core_f;
        case MPU_STOCK_PUT_A:
            return put_a;
        case MPU_STOCK_PUT_B:
            return put_b;
        case MPU_STOCK_GET_A:
            return get_a;
        case MPU_STOCK_GET_B:
            return get_b;
    }
    return NULL;
}

char *mpu_xfer_stock_wrap(const enum mpu_stock_piece *p, size_t np, const char *before) {
    size_t n = 0, bn = before ? strlen(before) : 0;
    for (size_t i = 0; i < np; i++) {
        n += strlen(mpu_xfer_stock_piece(p[i]));
    }
    char *src = malloc(n + 1), *o = malloc(bn + 2 * n + 64);
    if (!src || !o) {
        free(src);
        free(o);
        return NULL;
    }
    src[0] = 0;
    for (size_t i = 0; i < np; i++) {
        strcat(src, mpu_xfer_stock_piece(p[i]));
    }
    if (bn) {
        memcpy(o, before, bn);
    }
    size_t k = bn + (size_t)sprintf(o + bn, "_mpu_x(b'''");
    /* Newlines stay as they are inside the triple quotes: the literal is the
     * text. A quote is escaped only where it would end them: before another
     * quote, or last. */
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\\' || (src[i] == '\'' && (i + 1 == n || src[i + 1] == '\''))) {
            o[k++] = '\\';
        }
        o[k++] = src[i];
    }
    uint8_t sum[32];
    struct mpu_sha256 h;
    mpu_sha256_init(&h);
    mpu_sha256_update(&h, (const uint8_t *)src, n);
    mpu_sha256_final(&h, sum);
    sprintf(o + k, "''',%lu)\n", (unsigned long)sum[0] << 24 | (unsigned long)sum[1] << 16 | sum[2] << 8 | sum[3]);
    free(src);
    return o;
}
