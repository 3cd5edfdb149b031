-- Server-wide settings shared by every process on this database, such as the key that signs
-- pagination cursors (so a cursor from one process is valid on another).
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
