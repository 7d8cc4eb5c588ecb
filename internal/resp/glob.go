package resp

// globMatch reports whether s matches the Redis glob pattern: * matches any run of bytes, ?
// any one byte, [abc] one byte of the set, [^abc] one byte outside it, [a-z] a range (either
// order), and \x the byte x itself, in and out of brackets. An unclosed bracket ends with the
// pattern. Bytes are compared exactly; keys are binary.
func globMatch(pattern, s []byte) bool {
	p, i := 0, 0
	// starP and starI are where to resume after the last * seen: the pattern after it, and the
	// next byte of s it may swallow.
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				if p == len(pattern) {
					return true
				}
				starP, starI = p, i
				continue
			case '?':
				p++
				i++
				continue
			case '[':
				if ok, next := matchClass(pattern, p, s[i]); ok {
					p = next
					i++
					continue
				}
			case '\\':
				if p+1 < len(pattern) {
					if pattern[p+1] == s[i] {
						p += 2
						i++
						continue
					}
				} else if s[i] == '\\' {
					p++
					i++
					continue
				}
			default:
				if pattern[p] == s[i] {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchClass matches c against the bracket expression that starts at pattern[p] ('['), and
// returns whether it matched and the index just past the expression.
func matchClass(pattern []byte, p int, c byte) (bool, int) {
	p++
	not := p < len(pattern) && pattern[p] == '^'
	if not {
		p++
	}
	match := false
	for p < len(pattern) && pattern[p] != ']' {
		switch {
		case pattern[p] == '\\' && p+1 < len(pattern):
			p++
			if pattern[p] == c {
				match = true
			}
			p++
		case p+2 < len(pattern) && pattern[p+1] == '-' && pattern[p+2] != ']':
			lo, hi := pattern[p], pattern[p+2]
			if pattern[p+2] == '\\' && p+3 < len(pattern) {
				hi = pattern[p+3]
				p++
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				match = true
			}
			p += 3
		default:
			if pattern[p] == c {
				match = true
			}
			p++
		}
	}
	if p < len(pattern) {
		p++ // the closing ]
	}
	return match != not, p
}
