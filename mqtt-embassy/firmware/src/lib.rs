//! What the three firmware binaries share: the NUCLEO-F429ZI's clocks, random number generator,
//! Ethernet and network stack, the broker's address, and the heap.
#![no_std]

use embassy_executor::Spawner;
use embassy_net::{IpEndpoint, Ipv4Address, Stack, StackResources};
use embassy_stm32::eth::{Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA};
use embassy_stm32::rng::Rng;
use embassy_stm32::time::Hertz;
use embassy_stm32::{Config, bind_interrupts, eth, peripherals, rng};
use static_cell::StaticCell;

pub use embedded_alloc::LlffHeap as Heap;

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    HASH_RNG => rng::InterruptHandler<peripherals::RNG>;
});

/// The broker: 192.168.1.10:1883.
pub const BROKER: IpEndpoint = IpEndpoint::new(
    embassy_net::IpAddress::Ipv4(Ipv4Address::new(192, 168, 1, 10)),
    1883,
);

/// The MQTT client identifier.
pub const CLIENT_ID: &str = "fw-sensor";
/// Where readings go, and where commands come from.
pub const TOPIC_TEMP: &str = "fw/temp";
pub const TOPIC_CMD: &str = "fw/cmd";
/// MQTT keep alive, in seconds.
pub const KEEP_ALIVE_SECS: u16 = 30;
/// The heap the binaries that allocate give to their allocator, in bytes.
pub const HEAP_SIZE: usize = 16 * 1024;

type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

/// The network, up with an address from DHCP, and a seed from the hardware RNG.
pub struct Board {
    pub stack: Stack<'static>,
    pub seed: u64,
}

/// Brings the board up: 168 MHz from the ST-LINK's 8 MHz clock, Ethernet (RMII pins of the
/// NUCLEO-F429ZI), DHCP.
pub async fn init(spawner: Spawner) -> Board {
    let mut config = Config::default();
    {
        use embassy_stm32::rcc::*;
        config.rcc.hse = Some(Hse {
            freq: Hertz(8_000_000),
            mode: HseMode::Bypass,
        });
        config.rcc.pll_src = PllSource::HSE;
        config.rcc.pll = Some(Pll {
            prediv: PllPreDiv::DIV4,
            mul: PllMul::MUL168,
            divp: Some(PllPDiv::DIV2),
            divq: Some(PllQDiv::DIV7),
            divr: None,
        });
        config.rcc.ahb_pre = AHBPrescaler::DIV1;
        config.rcc.apb1_pre = APBPrescaler::DIV4;
        config.rcc.apb2_pre = APBPrescaler::DIV2;
        config.rcc.sys = Sysclk::PLL1_P;
    }
    let p = embassy_stm32::init(config);

    let mut rng = Rng::new(p.RNG, Irqs);
    let mut seed = [0; 8];
    rng.fill_bytes(&mut seed);
    let seed = u64::from_le_bytes(seed);

    let mac_addr = [0x02, 0x00, 0x00, 0x4d, 0x51, 0x54];
    static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
    let device = Ethernet::new(
        PACKETS.init(PacketQueue::<4, 4>::new()),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        mac_addr,
        p.ETH_SMA,
        p.PA2,
        p.PC1,
    );

    let net_config = embassy_net::Config::dhcpv4(Default::default());
    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        net_config,
        RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.spawn(net_task(runner).unwrap());
    stack.wait_config_up().await;
    Board { stack, seed }
}

/// A reading to publish: a counter standing in for a sensor.
pub fn reading(n: u32, buf: &mut heapless::String<32>) -> &str {
    use core::fmt::Write;
    buf.clear();
    let _ = write!(buf, "{{\"n\":{n},\"c\":21}}");
    buf.as_str()
}
