"""Which parts of a running binary are resident: KiB per ELF section and the symbols on the
resident pages, from /proc/PID/pagemap (needs root to read it on current kernels).

Why: a statically linked agent's VmRSS is mostly its own file pages; which sections (and which
code or data in them) those pages hold says what to lay out differently next. Python 3 stdlib
only; reads the ELF section headers and symbol table itself (64-bit little-endian ELF)."""

import bisect
import os
import struct

PAGE = os.sysconf("SC_PAGE_SIZE")
SHF_ALLOC = 0x2
SHT_NOBITS = 8
SHT_SYMTAB = 2
SHF_EXECINSTR = 0x4


class Elf:
    """The sections and symbols of a 64-bit little-endian ELF file."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ValueError("%s: not a 64-bit little-endian ELF file" % path)
        (self.e_type,) = struct.unpack_from("<H", data, 16)
        phoff, shoff = struct.unpack_from("<QQ", data, 32)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 54)
        headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        strtab_off = headers[shstrndx][4]

        def name_at(table_off, off):
            end = data.index(b"\0", table_off + off)
            return data[table_off + off:end].decode(errors="replace")

        self.sections = []  # (name, vaddr, size, flags, type)
        for h in headers:
            self.sections.append((name_at(strtab_off, h[0]), h[3], h[5], h[2], h[1]))
        self.load_base = min((struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)[3]
                              for i in range(phnum)
                              if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 1), default=0)
        self.symbols = []  # (vaddr, size, name), sorted
        self.function_names = set()  # names defined in code sections (nm's t/T/w/W/i)
        for h in headers:
            if h[1] != SHT_SYMTAB:
                continue
            link_off = headers[h[6]][4]
            for k in range(h[5] // 24):
                st_name, _info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", data, h[4] + k * 24)
                if shndx != 0 and value and st_name:
                    name = name_at(link_off, st_name)
                    self.symbols.append((value, size, name))
                    if shndx < len(headers) and headers[shndx][2] & SHF_EXECINSTR:
                        self.function_names.add(name)
        self.symbols.sort()
        self.symbol_starts = [s[0] for s in self.symbols]

    def alloc_sections(self):
        return [s for s in self.sections if s[3] & SHF_ALLOC and s[2]]

    def symbols_in(self, lo, hi):
        """Symbols overlapping [lo, hi)."""
        i = max(0, bisect.bisect_right(self.symbol_starts, lo) - 1)
        out = []
        while i < len(self.symbols) and self.symbols[i][0] < hi:
            a, size, name = self.symbols[i]
            if a + max(size, 1) > lo:
                out.append(self.symbols[i])
            i += 1
        return out


def resident_pages(pid, path):
    """Virtual addresses of the resident pages of pid's mappings of the file at path, with the
    load bias of those mappings (0 for a fixed-address executable)."""
    real = os.path.realpath(path)
    spans, bias = [], None
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6 or os.path.realpath(parts[5]) != real:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            spans.append((lo, hi))
            if int(parts[2], 16) == 0 and bias is None:
                bias = lo
    pages = []
    with open("/proc/%d/pagemap" % pid, "rb") as pm:
        for lo, hi in spans:
            pm.seek(lo // PAGE * 8)
            raw = pm.read((hi - lo) // PAGE * 8)
            for k, (entry,) in enumerate(struct.iter_unpack("<Q", raw)):
                if entry >> 63:
                    pages.append(lo + k * PAGE)
    return pages, bias or 0


def by_section(pid, binary):
    """[(section name, resident KiB, size KiB)] of binary's loaded sections in pid, and
    {section: [(vaddr, size, symbol)]} of the symbols on their resident pages."""
    elf = Elf(binary)
    pages, bias = resident_pages(pid, binary)
    if elf.e_type == 2:  # ET_EXEC: fixed addresses
        bias = 0
    else:
        bias -= elf.load_base // PAGE * PAGE
    page_set = {p - bias for p in pages}
    rows, symbols = [], {}
    for name, vaddr, size, _flags, _type in elf.alloc_sections():
        first, last = vaddr // PAGE * PAGE, (vaddr + size - 1) // PAGE * PAGE
        hits = [p for p in range(first, last + PAGE, PAGE) if p in page_set]
        rows.append((name, len(hits) * PAGE // 1024, (size + 1023) // 1024))
        on_pages = []
        for p in hits:
            on_pages += elf.symbols_in(max(p, vaddr), min(p + PAGE, vaddr + size))
        symbols[name] = sorted(set(on_pages))
    return rows, symbols


def format_table(rows, top_symbols=None, symbols=None):
    """Lines of a per-section table (largest resident first), optionally with the largest
    symbols on each section's resident pages."""
    lines = ["  %-28s %10s %10s" % ("section", "resident", "size")]
    for name, res, size in sorted(rows, key=lambda r: -r[1]):
        if res == 0:
            continue
        lines.append("  %-28s %7d KiB %7d KiB" % (name, res, size))
        if top_symbols and symbols:
            for _a, size_b, sym in sorted(symbols.get(name, []), key=lambda s: -s[1])[:top_symbols]:
                lines.append("      %8d B  %s" % (size_b, sym[:100]))
    return lines
