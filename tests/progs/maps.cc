/* Description: heavy std::map<std::string, std::string> and std::string use
 * (inserts, lookups, appends, erases, copies); prints a checksum that
 * depends only on the program's logic, so a traced run must print the same
 * bytes as an untraced one. */
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

static uint64_t fnv(uint64_t h, const std::string &s)
{
	for (unsigned char c : s)
		h = (h ^ c) * 0x100000001b3ull;
	return h;
}

int main()
{
	std::map<std::string, std::string> m;
	uint64_t h = 0xcbf29ce484222325ull;
	const int n = 20000;

	for (int i = 0; i < n; i++) {
		std::string k = "key-" + std::to_string(i * 7919 % n);
		std::string v(static_cast<size_t>(i % 97), static_cast<char>('a' + i % 26));
		v += std::to_string(i);
		m[k] = v;
	}
	for (int i = 0; i < n; i += 3) {
		auto it = m.find("key-" + std::to_string(i));
		if (it != m.end())
			it->second.append(it->first);
	}
	for (int i = 0; i < n; i += 5)
		m.erase("key-" + std::to_string(i));
	std::map<std::string, std::string> copy = m;
	std::vector<std::string> keys;
	for (const auto &kv : copy) {
		h = fnv(h, kv.first);
		h = fnv(h, kv.second);
		keys.push_back(kv.first + "=" + std::to_string(kv.second.size()));
	}
	std::string joined;
	for (const auto &k : keys)
		joined += k;
	h = fnv(h, joined);
	std::printf("entries %zu\nbytes %zu\nchecksum %016llx\n", copy.size(), joined.size(),
		    static_cast<unsigned long long>(h));
	return 0;
}
