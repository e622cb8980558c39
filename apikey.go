package fulfill

import "time"

// Role is what an API key may do.
type Role string

// Roles of API keys.
const (
	RoleAdmin    Role = "admin"    // everything
	RoleMerchant Role = "merchant" // catalog reads, checkout, orders
	RoleDevice   Role = "device"   // warehouse handhelds and packing stations
	RoleCarrier  Role = "carrier"  // carrier tracking updates
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleMerchant, RoleDevice, RoleCarrier:
		return true
	}
	return false
}

// APIKey is a stored API key. The secret itself is never stored: only its
// SHA-256 hash, and a short prefix to recognise it in lists.
type APIKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	Prefix    string     `json:"prefix"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}
