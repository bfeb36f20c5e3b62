module github.com/tcpsim/tcpsim

go 1.26
